-- 0600: report workers sharing a month (issue 21). Several `report
-- --worker` processes, on one machine or many, split a month's
-- organisations through these two tables (see postgres/claims.go).

-- report_runs has one row per month that workers reported: the ledger
-- sequence the run counts up to, fixed by the worker that started it, so
-- every worker of the run reads the same files and a claim taken over
-- from a dead worker gives the same cells. A later run of the month (after
-- more files came in) moves up_to on. settings names what the cells are
-- made with (k, p, formats): a worker with others may not join.
CREATE TABLE report_runs (
    month      integer     PRIMARY KEY,
    up_to      bigint      NOT NULL,
    settings   text        NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);

-- report_claims has one row per organisation of a run's month. A worker
-- takes open rows whose lease has run out (or never ran) with
-- SELECT ... FOR UPDATE SKIP LOCKED, sets holder and lease_until, and
-- renews the lease while it works. It marks the row done after the
-- organisation's publication record is committed and its files are in
-- place; a worker that dies leaves the row open, and once the lease has
-- run out another worker takes it (and writes the files from the record
-- when the dead one got that far). rows is the organisation's record
-- count when the run started: workers take organisations in batches of
-- about the same number of rows. part names the table that holds the
-- organisation's rows: since this migration a month's partition is itself
-- partitioned by a hash of org into 16 buckets (records_YYYY_MM_hNN, see
-- postgres/partition.go), and a batch is taken from one bucket, so that a
-- worker reads that bucket only. Months made before keep one table. outcome says what was done: published,
-- from-record (published before), withheld (too few subscribers).
CREATE TABLE report_claims (
    month       integer     NOT NULL,
    org         integer     NOT NULL CHECK (org BETWEEN 0 AND 999999999),
    rows        bigint      NOT NULL DEFAULT 0,
    part        text        NOT NULL DEFAULT '',
    state       text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done')),
    holder      text        NOT NULL DEFAULT '',
    lease_until timestamptz,
    attempts    integer     NOT NULL DEFAULT 0,
    outcome     text        NOT NULL DEFAULT '',
    done_at     timestamptz,
    PRIMARY KEY (month, org)
);
CREATE INDEX report_claims_open ON report_claims (month, org) WHERE state = 'open';
