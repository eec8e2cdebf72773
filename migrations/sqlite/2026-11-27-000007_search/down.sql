DROP TABLE ticket_reindex;
DROP TRIGGER ticket_search_words_update;
DROP TRIGGER ticket_search_words_delete;
DROP TRIGGER ticket_search_words_insert;
DROP TABLE ticket_search;
DROP TABLE ticket_search_words;
DROP INDEX tickets_open_sla_breach_at;
DROP INDEX tickets_sla_breach_at;
ALTER TABLE tickets DROP COLUMN sla_breach_at;
