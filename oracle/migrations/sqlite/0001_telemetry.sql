-- Accepted telemetry: one row per (device, seq), the signed canonical bytes as received.
CREATE TABLE IF NOT EXISTS telemetry (
    device BLOB NOT NULL,
    seq INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    canonical BLOB NOT NULL,
    signature BLOB NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (device, seq)
);
CREATE INDEX IF NOT EXISTS telemetry_by_time ON telemetry (timestamp_ms);

-- Same (device, seq) with other content: evidence of a cloned key.
CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device BLOB NOT NULL,
    seq INTEGER NOT NULL,
    canonical BLOB NOT NULL,
    signature BLOB NOT NULL,
    received_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS conflicts_by_device ON conflicts (device);
