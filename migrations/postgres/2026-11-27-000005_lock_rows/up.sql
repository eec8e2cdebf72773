-- Takes the row locks of a write transaction (rule 8), in id order.
-- PostgreSQL reports a lock wait that timed out (SQLSTATE 55P03), a
-- deadlock (40P01) or a cancelled statement (57014) with a message in the
-- server's language, and Diesel passes on no SQLSTATE but those it names
-- as a kind: none of these three. Raised again here as
-- serialization_failure (40001), which it names, so the store answers
-- "unavailable, try again" whatever the server's lc_messages; the
-- original SQLSTATE stays in DETAIL for the log.
CREATE FUNCTION lock_rows(target regclass, ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'SELECT 1 FROM %s WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE',
        target
    ) USING ids;
EXCEPTION
    WHEN lock_not_available OR deadlock_detected OR query_canceled THEN
        RAISE EXCEPTION USING
            ERRCODE = 'serialization_failure',
            MESSAGE = SQLERRM,
            DETAIL = 'SQLSTATE ' || SQLSTATE;
END
$$;
