-- Signed-in browsers of the web interface. The cookie holds a random
-- secret and this table only its SHA-256, so a copy of the database opens
-- no session. A session belongs to its account's session generation: a PIN
-- change or a deactivation ends it like a token; signing out deletes it.
CREATE TABLE web_sessions (
    secret_digest TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    session_epoch BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
-- Expired sessions are swept whenever someone signs in.
CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at);
