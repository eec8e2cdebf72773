DROP INDEX users_email_unique;
ALTER TABLE users DROP COLUMN email;
