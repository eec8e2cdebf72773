-- Drops the sort indexes.
DROP INDEX tickets_updated_at;
DROP INDEX tickets_created_at;
