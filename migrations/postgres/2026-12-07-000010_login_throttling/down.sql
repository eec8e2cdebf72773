DROP TABLE address_login_budgets;
DROP TABLE unknown_username_logins;
ALTER TABLE users DROP COLUMN device_last_failed_login_at;
ALTER TABLE users DROP COLUMN last_failed_login_at;
