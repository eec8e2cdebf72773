-- Each account's choice of the notifications it gets by mail: one row
-- once the account has changed anything (by the API, the account page or
-- a one-click unsubscribe); without a row the defaults of its role hold.
CREATE TABLE notification_preferences (
    user_id BIGINT PRIMARY KEY NOT NULL REFERENCES users (id),
    ticket_created BOOLEAN NOT NULL,
    public_reply BOOLEAN NOT NULL,
    customer_reply BOOLEAN NOT NULL,
    internal_note BOOLEAN NOT NULL,
    status_changed BOOLEAN NOT NULL,
    assigned BOOLEAN NOT NULL,
    sla_breached BOOLEAN NOT NULL
);
-- When the SLA sweep noticed that each target was missed (and queued its
-- notices): a ticket's breach is told once. Tickets already past a due
-- time when this arrives count as noticed, so the first sweep does not
-- tell the whole past.
ALTER TABLE tickets ADD COLUMN first_response_breach_noticed_at TIMESTAMP;
ALTER TABLE tickets ADD COLUMN resolution_breach_noticed_at TIMESTAMP;
UPDATE tickets SET first_response_breach_noticed_at = CURRENT_TIMESTAMP
    WHERE first_response_at IS NULL AND resolved_at IS NULL
      AND first_response_due_at <= CURRENT_TIMESTAMP;
UPDATE tickets SET resolution_breach_noticed_at = CURRENT_TIMESTAMP
    WHERE resolved_at IS NULL AND resolution_due_at <= CURRENT_TIMESTAMP;
-- The sweep's two questions, each a range over the open tickets whose
-- miss is not yet noticed (the noticed ones leave the index).
CREATE INDEX tickets_unnoticed_first_response ON tickets (first_response_due_at, id)
    WHERE first_response_breach_noticed_at IS NULL AND first_response_at IS NULL
      AND resolved_at IS NULL;
CREATE INDEX tickets_unnoticed_resolution ON tickets (resolution_due_at, id)
    WHERE resolution_breach_noticed_at IS NULL AND resolved_at IS NULL;
