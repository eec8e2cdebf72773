DROP FUNCTION lock_rows(regclass, bigint[]);
