-- The ticket indexes chosen from the queries rather than one for every
-- filter x sort pair: every index is a B-tree each new ticket and each
-- change of a sorted column must update (and, on SQLite, a page each
-- transaction writes to its log). Kept: one index per sort; the status
-- filter with every sort (the queue is read by status, and status follows
-- time: open tickets are the new ones, so a walk along a time index that
-- tests the status could pass most of the table first); and a customer's
-- own tickets and an assignee's, each by id and by latest change; a
-- priority by due time, and an assignee by status (measured: their
-- matches lie at the far end of the other order, so a walk of the sort's
-- index passed most of the table before its first page). Any
-- other filter with a sort walks the sort's index and tests the filter, or
-- reads the filter's rows and sorts them when they are few: the store
-- chooses (docs/ARCHITECTURE.md, "The ticket list").
DROP INDEX tickets_priority_created_at;
DROP INDEX tickets_priority_updated_at;
DROP INDEX tickets_priority_resolved_at;
DROP INDEX tickets_priority_status;
DROP INDEX tickets_assignee_created_at;
DROP INDEX tickets_assignee_resolved_at;
DROP INDEX tickets_assignee_priority;
DROP INDEX tickets_assignee_resolution_due_at;
DROP INDEX tickets_author_created_at;
DROP INDEX tickets_author_resolved_at;
DROP INDEX tickets_author_status;
DROP INDEX tickets_author_priority;
DROP INDEX tickets_author_resolution_due_at;
