-- 0300: the content digest of a file's records beside the byte digest, so
-- that the same records sent again (other line ends, a byte-order mark,
-- another row order, gzip) are refused as already ingested.
--
-- content_digest is ingest.Digest: an order-independent hash of the file's
-- stored, minimised records. NULL for a file without records (and for the
-- files ingested before this migration), which is never taken for another.
-- The unique index makes two concurrent ingests of the same records count
-- once, as the sha256 constraint does for the same bytes.
ALTER TABLE files ADD COLUMN content_digest bytea CHECK (length(content_digest) = 32);
CREATE UNIQUE INDEX files_content_digest ON files (content_digest) WHERE content_digest IS NOT NULL;
