-- 0400: the ledger sequence and the publication records.

-- files.seq orders committed files: Commit takes it from ledger_seq under
-- an advisory lock held to the commit, so a reader that takes that lock
-- shared and reads max(seq) has seen every file up to it. A record counts
-- in a month's report when its file's seq is at most what the month's
-- publication covered (see usagereport.MonthOwner). Files committed
-- before this migration get 0: before every publication.
CREATE SEQUENCE ledger_seq;
ALTER TABLE files ADD COLUMN seq bigint NOT NULL DEFAULT 0;

-- publications holds one row per published version of an organisation's
-- month: the cells exactly as published (usagereport.EncodeCells: the
-- dimensions, and the measures of the cells shown only), what they were
-- made with, and the ledger sequence they covered. A row is never
-- updated; a correction is a row with the next version.
CREATE TABLE publications (
    org            integer          NOT NULL CHECK (org BETWEEN 0 AND 999999999),
    month          integer          NOT NULL,
    version        integer          NOT NULL CHECK (version >= 1),
    min_group_size integer          NOT NULL CHECK (min_group_size >= 3),
    dominance_p    double precision NOT NULL,
    format         text             NOT NULL,
    published_at   timestamptz      NOT NULL,
    covered_seq    bigint           NOT NULL,
    late_events    bigint           NOT NULL CHECK (late_events >= 0),
    reason         text             NOT NULL DEFAULT '',
    digest         bytea            NOT NULL CHECK (length(digest) = 32),
    cells          bytea            NOT NULL,
    PRIMARY KEY (org, month, version)
);
