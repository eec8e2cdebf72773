DROP TABLE outbox_attempts;
DROP TABLE outbox;
DROP TABLE webhook_endpoints;
