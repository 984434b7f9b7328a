ALTER TABLE posts DROP COLUMN idempotency_key;
