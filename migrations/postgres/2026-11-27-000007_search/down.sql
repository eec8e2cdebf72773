DROP TABLE ticket_reindex;
DROP TABLE ticket_search_words;
DROP INDEX tickets_open_sla_breach_at;
DROP INDEX tickets_sla_breach_at;
ALTER TABLE tickets DROP COLUMN sla_breach_at;
