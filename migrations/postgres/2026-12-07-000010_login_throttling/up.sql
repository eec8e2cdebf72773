-- Login throttling that tells nothing of which usernames exist, and that a
-- spray across usernames from one address cannot outrun.
--
-- A username's failures are dated, so that every name's failures are
-- forgotten after a quiet day, the names with an account and those without
-- alike (the store deletes the latter's records then).
ALTER TABLE users ADD COLUMN last_failed_login_at TIMESTAMP;
ALTER TABLE users ADD COLUMN device_last_failed_login_at TIMESTAMP;

-- The failures of usernames that have no account, counted and locked out
-- exactly as an account's are.
CREATE TABLE unknown_username_logins (
    username TEXT PRIMARY KEY NOT NULL,
    failed_logins INTEGER NOT NULL,
    locked_until TIMESTAMP,
    last_failed_login_at TIMESTAMP
);

-- Each client address's budget of failed logins across all usernames:
-- the instant it is whole again (a generic cell rate). Rows whose budget
-- is whole are deleted.
CREATE TABLE address_login_budgets (
    address TEXT PRIMARY KEY NOT NULL,
    full_at TIMESTAMP NOT NULL
);
