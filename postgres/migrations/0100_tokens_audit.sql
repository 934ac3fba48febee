-- 0100: access tokens and the audit log of the report server. Numbered well
-- above the store's own migrations so that both series can grow apart.

-- tokens holds a SHA-256 of each access token, never the token: a token is
-- 256 random bits, so a fast hash is enough (see usagereport.TokenHash).
-- A revoked token keeps its row, for the record.
CREATE TABLE tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org        integer     NOT NULL CHECK (org BETWEEN 0 AND 999999999),
    name       text        NOT NULL,
    hash       bytea       NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- audit_log is append-only: every download and failed sign-in. org is 0
-- when no token was accepted, report '' when none was validly named.
CREATE TABLE audit_log (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    org     integer     NOT NULL CHECK (org BETWEEN 0 AND 999999999),
    report  text        NOT NULL,
    outcome text        NOT NULL,
    remote  text        NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
