-- The account's session generation: a PIN change or a deactivation moves
-- it on, and a token issued in an earlier generation no longer holds.
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
