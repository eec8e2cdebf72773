-- Accounts get an optional email address, where mail reaches them. It is
-- stored lower-cased (the application lower-cases it), so the unique index
-- makes it unique across accounts whatever the case it was typed in.
ALTER TABLE users ADD COLUMN email TEXT;
CREATE UNIQUE INDEX users_email_unique ON users (email);
