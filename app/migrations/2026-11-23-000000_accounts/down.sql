-- Back to anonymous posts: accounts and sessions go; every post keeps its author name.
-- Keys only one user used stay unique; this fails if two users picked the same key.
DROP TABLE login_failures;
DROP TABLE sessions;
ALTER TABLE posts DROP CONSTRAINT posts_user_id_idempotency_key_key;
ALTER TABLE posts ADD CONSTRAINT posts_idempotency_key_key UNIQUE (idempotency_key);
DROP INDEX posts_user_id_id;
ALTER TABLE posts DROP COLUMN user_id;
DROP TABLE users;
