-- The guestbook. Limits mirror the API's (characters, not bytes) so the database refuses
-- what the app would refuse, whoever writes.
CREATE TABLE posts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author     VARCHAR(50)  NOT NULL CHECK (author <> ''),
    title      VARCHAR(200) NOT NULL CHECK (title <> ''),
    body       TEXT         NOT NULL CHECK (body <> '' AND char_length(body) <= 10000),
    created_at TIMESTAMPTZ  NOT NULL DEFAULT now()
);
