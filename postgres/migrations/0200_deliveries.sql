-- 0200: the delivery ledger of the monthly email job. Numbered well above
-- the others so that each series can grow apart.

-- deliveries has one row per (organisation, month, recipient). recipient is
-- personal data, kept for as long as the row is needed to prove a delivery.
-- claimant is the id of the sender that claimed the row; it holds the
-- session advisory lock (lockClaimants, claimant) while it lives, so a
-- 'sending' row whose claimant holds no such lock belonged to a dead sender
-- and becomes 'unknown' (see postgres/deliveries.go).
CREATE TABLE deliveries (
    month      integer     NOT NULL,
    org        integer     NOT NULL CHECK (org BETWEEN 0 AND 999999999),
    recipient  text        NOT NULL CHECK (recipient <> ''),
    state      text        NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    attempts   integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error text        NOT NULL DEFAULT '',
    message_id text        NOT NULL DEFAULT '',
    claimant   integer,
    -- retry_at: a pending row released after temporary failures is not
    -- claimed before it; NULL for any time.
    retry_at   timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, org, recipient),
    CHECK (state <> 'sending' OR claimant IS NOT NULL)
);
CREATE INDEX deliveries_sending ON deliveries (claimant) WHERE state = 'sending';

-- Claimant ids: the second key of a two-key advisory lock, so an integer.
CREATE SEQUENCE delivery_claimants AS integer;
