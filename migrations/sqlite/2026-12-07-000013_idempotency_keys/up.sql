-- Idempotent creation: each Idempotency-Key a client sent, scoped to its
-- owner (an account, or signed out the client address), the method and
-- the path, with the SHA-256 of the request's body and, once answered,
-- the answer (status and body) to give a retry. A key is taken by a short
-- write of its own ("in flight": no status yet); the answer is written in
-- the same transaction as the change it reports. Keys are kept 24 hours
-- from created_at, then swept.
CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- When the request now holding the key took it; with id, the hold's
    -- identity, so a request whose key a retry took over cannot record.
    claimed_at TIMESTAMP NOT NULL,
    status INTEGER,
    body TEXT
);
CREATE UNIQUE INDEX idempotency_keys_scope ON idempotency_keys (owner, method, path, idempotency_key);
-- The sweep deletes by age.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
