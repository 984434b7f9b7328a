-- Accounts. Usernames are stored lower-case; the CHECK mirrors the API's rule so the database
-- refuses what the app would refuse, whoever writes.
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      VARCHAR(32) NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_-]{3,32}$'),
    -- An argon2id PHC string. NULL: nobody can sign in as this account (the reserved "guest").
    password_hash TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Posts written before accounts existed keep their author name and belong to "guest", which
-- also reserves the name. Nothing is lost on upgrade.
INSERT INTO users (username) VALUES ('guest');
ALTER TABLE posts ADD COLUMN user_id BIGINT REFERENCES users (id);
UPDATE posts SET user_id = (SELECT id FROM users WHERE username = 'guest');
ALTER TABLE posts ALTER COLUMN user_id SET NOT NULL;
-- One user's posts, newest first (GET /api/users/{username}/posts, and the post count).
CREATE INDEX posts_user_id_id ON posts (user_id, id DESC);

-- Idempotency keys are scoped per user: two users picking the same key is no conflict.
ALTER TABLE posts DROP CONSTRAINT posts_idempotency_key_key;
ALTER TABLE posts ADD CONSTRAINT posts_user_id_idempotency_key_key UNIQUE (user_id, idempotency_key);

-- Server-side sessions. The cookie holds a random 256-bit token; only its SHA-256 is stored,
-- so a copy of this table signs nobody in.
CREATE TABLE sessions (
    token_hash   BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Recent failed sign-ins per username, whether or not the account exists (a difference would
-- tell an attacker which names exist). A success deletes the row.
CREATE TABLE login_failures (
    username        VARCHAR(32) PRIMARY KEY,
    failures        INTEGER     NOT NULL CHECK (failures > 0),
    last_failure_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_last_failure_at ON login_failures (last_failure_at);
