-- API tokens: credentials a program holds instead of a person's PIN. The
-- token itself is shown once, at creation; this table keeps only its
-- SHA-256, so a copy of the database opens nothing. A token acts as its
-- account (the account's current role, ended by deactivation); revoking
-- one deletes its row.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    secret_digest TEXT NOT NULL UNIQUE,
    read_only BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP
);
-- An account's tokens, listed and counted (at most 20 live ones) in id order.
CREATE INDEX api_tokens_user_id ON api_tokens (user_id, id);
