-- One row that readiness rewrites every second: proof that the store can take a write (a full disk
-- or a read-only file fails it), without bumping the revision the watchers follow.
CREATE TABLE store_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    probes BIGINT NOT NULL
);
INSERT INTO store_probe (id, probes) VALUES (1, 0);
