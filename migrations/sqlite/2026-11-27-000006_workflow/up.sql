-- The helpdesk workflow: priority, assignee, the first response and the SLA
-- due times on tickets; tags; internal notes; and each ticket's history.

-- Priority as its rank, so it sorts LOW (0) < NORMAL (1) < HIGH (2) < URGENT (3).
ALTER TABLE tickets ADD COLUMN priority INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 3);
ALTER TABLE tickets ADD COLUMN assignee_id BIGINT REFERENCES users (id);
ALTER TABLE tickets ADD COLUMN first_response_at TIMESTAMP;
-- Stored, not derived, so the breach filter is an indexed query; set at
-- creation from the SLA settings and recomputed when the priority changes.
ALTER TABLE tickets ADD COLUMN first_response_due_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
ALTER TABLE tickets ADD COLUMN resolution_due_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';

-- Tickets from before this migration: NORMAL, with the default targets
-- (8 h first response, 3 days resolution), and the first agent reply as
-- their first response.
UPDATE tickets SET
    first_response_due_at = strftime('%Y-%m-%d %H:%M:%f', created_at, '+8 hours'),
    resolution_due_at = strftime('%Y-%m-%d %H:%M:%f', created_at, '+3 days'),
    first_response_at = (
        SELECT MIN(replies.created_at) FROM replies JOIN users ON users.id = replies.author_id
        WHERE replies.ticket_id = tickets.id AND users.role = 'SUPPORT_AGENT'
    );

CREATE INDEX tickets_priority ON tickets (priority, id);
CREATE INDEX tickets_resolution_due_at ON tickets (resolution_due_at, id);
CREATE INDEX tickets_assignee_id ON tickets (assignee_id, id);

ALTER TABLE replies ADD COLUMN internal BOOLEAN NOT NULL DEFAULT 0;

CREATE TABLE ticket_tags (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
) WITHOUT ROWID;

-- The tag filter.
CREATE INDEX ticket_tags_tag ON ticket_tags (tag, ticket_id);

-- `data` is the event's JSON payload; `kind` its type.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    at TIMESTAMP NOT NULL,
    data TEXT NOT NULL
);

-- A ticket's history, oldest first.
CREATE INDEX events_ticket_id ON events (ticket_id, id);

-- The history of tickets from before this migration, as far as the rows
-- tell it: created, each reply, the first agent reply's status change and
-- the resolution.
INSERT INTO events (ticket_id, kind, actor_id, at, data)
SELECT ticket_id, kind, actor_id, at, data FROM (
    SELECT id AS ticket_id, 'created' AS kind, author_id AS actor_id, created_at AS at,
           '{}' AS data, 0 AS step, 0 AS reply_id
    FROM tickets
    UNION ALL
    SELECT ticket_id, 'replied', author_id, created_at, json_object('replyId', id), 1, id
    FROM replies
    UNION ALL
    SELECT replies.ticket_id, 'status_changed', replies.author_id, replies.created_at,
           '{"from":"UNATTENDED","to":"REPLIED"}', 2, replies.id
    FROM replies JOIN tickets ON tickets.id = replies.ticket_id
    WHERE replies.created_at = tickets.first_response_at
      AND replies.id = (SELECT MIN(r.id) FROM replies r
                        WHERE r.ticket_id = tickets.id AND r.created_at = tickets.first_response_at)
    UNION ALL
    SELECT id, 'status_changed', author_id, resolved_at,
           json_object('from', CASE WHEN first_response_at IS NULL THEN 'UNATTENDED' ELSE 'REPLIED' END,
                       'to', 'RESOLVED'),
           3, 0
    FROM tickets WHERE resolved_at IS NOT NULL
)
ORDER BY ticket_id, at, reply_id, step;
