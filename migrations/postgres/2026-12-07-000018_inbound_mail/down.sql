DROP INDEX tickets_follow_up_of;
ALTER TABLE tickets DROP COLUMN follow_up_of;
DROP TABLE inbound_originals;
DROP TABLE inbound_messages;
