-- The tracker's three tables: accounts (with their login-throttling state),
-- tickets (whose integer key is the public ticketId) and replies.
-- Timestamps are UTC, stored without a zone.

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    pin_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('ADMIN', 'SUPPORT_AGENT', 'CUSTOMER')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Active admins are counted before any change that could remove the last one.
CREATE INDEX users_role_active ON users (role, active);

-- The identity sequence hands out each ticketId once, whatever runs concurrently.
CREATE TABLE tickets (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject TEXT,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('UNATTENDED', 'REPLIED', 'RESOLVED')),
    author_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);

-- A customer's own tickets, in ticketId order.
CREATE INDEX tickets_author_id ON tickets (author_id, id);
-- The resolved report and the status filter.
CREATE INDEX tickets_status_resolved_at ON tickets (status, resolved_at);

CREATE TABLE replies (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    author_id BIGINT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A ticket's replies, oldest first.
CREATE INDEX replies_ticket_id ON replies (ticket_id, id);
