-- 0500: what a delivery needs to be resent byte for byte after an unknown
-- outcome, and the SMTP code of its last failure (issue 17).

-- last_code: the SMTP reply code of the last failed attempt; 0 for none.
-- message_date and message_hash fix the message with message_id at the
-- first attempt: every later attempt builds the same bytes, and a resend
-- checks the SHA-256 (hex) before it goes. resends counts the attempts
-- that sent the message again after one whose outcome was unknown.
ALTER TABLE deliveries
    ADD COLUMN last_code    integer     NOT NULL DEFAULT 0 CHECK (last_code BETWEEN 0 AND 999),
    ADD COLUMN message_date timestamptz,
    ADD COLUMN message_hash text        NOT NULL DEFAULT '',
    ADD COLUMN resends      integer     NOT NULL DEFAULT 0 CHECK (resends >= 0);
