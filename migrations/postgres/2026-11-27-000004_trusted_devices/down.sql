ALTER TABLE users DROP COLUMN device_locked_until;
ALTER TABLE users DROP COLUMN device_failed_logins;
