-- Every sort a ticket list allows walks an index in `(field, id)` order, so
-- a page (by cursor, or by number up to the depth cap) reads only its rows.
CREATE INDEX tickets_status ON tickets (status, id);
CREATE INDEX tickets_resolved_at ON tickets (resolved_at, id);
-- The filters that split the table coarsely (status, priority, the
-- assignee, a customer's own scope) get one index per sort as well: with
-- only the filter's index, each page would sort every match, which for such
-- a filter can be most of the table. Finer filters (tag, search, breach)
-- match few enough rows to sort.
DROP INDEX tickets_status_resolved_at;
CREATE INDEX tickets_status_resolved_at ON tickets (status, resolved_at, id);
CREATE INDEX tickets_status_created_at ON tickets (status, created_at, id);
CREATE INDEX tickets_status_updated_at ON tickets (status, updated_at, id);
CREATE INDEX tickets_status_priority ON tickets (status, priority, id);
CREATE INDEX tickets_status_resolution_due_at ON tickets (status, resolution_due_at, id);
CREATE INDEX tickets_priority_created_at ON tickets (priority, created_at, id);
CREATE INDEX tickets_priority_updated_at ON tickets (priority, updated_at, id);
CREATE INDEX tickets_priority_resolved_at ON tickets (priority, resolved_at, id);
CREATE INDEX tickets_priority_status ON tickets (priority, status, id);
CREATE INDEX tickets_priority_resolution_due_at ON tickets (priority, resolution_due_at, id);
CREATE INDEX tickets_assignee_created_at ON tickets (assignee_id, created_at, id);
CREATE INDEX tickets_assignee_updated_at ON tickets (assignee_id, updated_at, id);
CREATE INDEX tickets_assignee_resolved_at ON tickets (assignee_id, resolved_at, id);
CREATE INDEX tickets_assignee_status ON tickets (assignee_id, status, id);
CREATE INDEX tickets_assignee_priority ON tickets (assignee_id, priority, id);
CREATE INDEX tickets_assignee_resolution_due_at ON tickets (assignee_id, resolution_due_at, id);
CREATE INDEX tickets_author_created_at ON tickets (author_id, created_at, id);
CREATE INDEX tickets_author_updated_at ON tickets (author_id, updated_at, id);
CREATE INDEX tickets_author_resolved_at ON tickets (author_id, resolved_at, id);
CREATE INDEX tickets_author_status ON tickets (author_id, status, id);
CREATE INDEX tickets_author_priority ON tickets (author_id, priority, id);
CREATE INDEX tickets_author_resolution_due_at ON tickets (author_id, resolution_due_at, id);
-- Accounts of one role, in id order.
CREATE INDEX users_role ON users (role, id);
