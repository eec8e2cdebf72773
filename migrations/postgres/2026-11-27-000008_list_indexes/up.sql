-- Every sort a ticket list allows walks an index in `(field, id)` order, so
-- a page (by cursor, or by number up to the depth cap) reads only its rows.
-- The status filter and a customer's own scope divide the table coarsely,
-- so they also get an index per common sort; finer filters (assignee, tag,
-- search, priority, breach) match few enough rows to sort.
CREATE INDEX tickets_status ON tickets (status, id);
CREATE INDEX tickets_resolved_at ON tickets (resolved_at, id);
DROP INDEX tickets_status_resolved_at;
CREATE INDEX tickets_status_resolved_at ON tickets (status, resolved_at, id);
CREATE INDEX tickets_status_created_at ON tickets (status, created_at, id);
CREATE INDEX tickets_status_updated_at ON tickets (status, updated_at, id);
CREATE INDEX tickets_status_priority ON tickets (status, priority, id);
CREATE INDEX tickets_status_resolution_due_at ON tickets (status, resolution_due_at, id);
CREATE INDEX tickets_author_created_at ON tickets (author_id, created_at, id);
CREATE INDEX tickets_author_updated_at ON tickets (author_id, updated_at, id);
-- Accounts of one role, in id order.
CREATE INDEX users_role ON users (role, id);
