-- Clients may send an Idempotency-Key with a write, so a retried POST (after a timeout or a
-- reset connection) returns the post it created the first time instead of a duplicate.
-- UNIQUE allows any number of NULLs: writes without a key are unaffected.
ALTER TABLE posts ADD COLUMN idempotency_key VARCHAR(100) UNIQUE;
