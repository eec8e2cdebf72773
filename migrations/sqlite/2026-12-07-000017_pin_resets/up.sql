-- PIN resets by mail: one row per link sent. The link's token is never
-- stored, only its SHA-256 (the mail's nonce, from which the server's
-- secret derives the token, travels in the outbox). A row works until it
-- expires, is used, or is voided (by a newer request or any PIN change);
-- the newest row of an account says when it was last sent a link (one
-- every five minutes).
CREATE TABLE pin_resets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    token_digest TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    voided_at TIMESTAMP
);
-- An account's resets, newest last: its last link, and the ones to void.
CREATE INDEX pin_resets_user_id ON pin_resets (user_id, id);
-- The sweep of expired rows.
CREATE INDEX pin_resets_expires_at ON pin_resets (expires_at);
