-- Accepted telemetry: one row per (device, seq), the signed canonical bytes as received.
CREATE TABLE IF NOT EXISTS telemetry (
    device BYTEA NOT NULL,
    seq BIGINT NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    canonical BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (device, seq)
);
CREATE INDEX IF NOT EXISTS telemetry_by_time ON telemetry (timestamp_ms);

-- Same (device, seq) with other content: evidence of a cloned key.
CREATE TABLE IF NOT EXISTS conflicts (
    id BIGSERIAL PRIMARY KEY,
    device BYTEA NOT NULL,
    seq BIGINT NOT NULL,
    canonical BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS conflicts_by_device ON conflicts (device);
