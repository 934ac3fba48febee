-- 0700: each committed file's record count per month and organisation.
--
-- The ingest counts them as it copies and writes them in the file's own
-- transaction, with the file's ledger sequence. A report run then lists
-- its organisations and their rows from these counts (report_claims, see
-- postgres/claims.go), in time that grows with the organisations, where a
-- GROUP BY over the month's records read every row before any worker
-- could start (11.5 s at 100 million rows). Purging a month or forgetting
-- an organisation deletes their counts with their records.
CREATE TABLE file_org_rows (
    month integer NOT NULL,
    org   integer NOT NULL CHECK (org BETWEEN 0 AND 999999999),
    seq   bigint  NOT NULL,
    rows  bigint  NOT NULL CHECK (rows > 0),
    PRIMARY KEY (month, org, seq)
);

-- The records stored before this migration are counted once, here.
INSERT INTO file_org_rows (month, org, seq, rows)
    SELECT r.month, r.org, f.seq, count(*) FROM records r JOIN files f ON f.id = r.file_id
    GROUP BY r.month, r.org, f.seq;
