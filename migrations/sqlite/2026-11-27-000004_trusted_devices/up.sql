-- Failed logins from clients carrying a device cookie this account was
-- given at a successful login, counted apart from everyone else's so that
-- a stranger's wrong PINs cannot lock the owner out.
ALTER TABLE users ADD COLUMN device_failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN device_locked_until TIMESTAMP;
