DROP INDEX tickets_unnoticed_resolution;
DROP INDEX tickets_unnoticed_first_response;
ALTER TABLE tickets DROP COLUMN resolution_breach_noticed_at;
ALTER TABLE tickets DROP COLUMN first_response_breach_noticed_at;
DROP TABLE notification_preferences;
