-- Drops the tracker's tables, newest dependency first.
DROP TABLE replies;
DROP TABLE tickets;
DROP TABLE users;
