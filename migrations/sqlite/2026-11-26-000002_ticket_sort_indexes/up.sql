-- Staff list every ticket sorted by creation or last update; without these
-- indexes each page of a large table sorts the whole table.
CREATE INDEX tickets_created_at ON tickets (created_at, id);
CREATE INDEX tickets_updated_at ON tickets (updated_at, id);
