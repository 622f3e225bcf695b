-- The shared store (see oracle/store/src/postgres.rs).

-- Each device's seq order: locked by every commit that offers the device a message.
CREATE TABLE IF NOT EXISTS device_seq (
    device BYTEA PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    accepted BIGINT NOT NULL
);

-- Accepted telemetry, a partition per epoch (created on first use, dropped by a prune).
CREATE TABLE IF NOT EXISTS telemetry (
    epoch BIGINT NOT NULL,
    device BYTEA NOT NULL,
    seq BIGINT NOT NULL,
    canonical BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (epoch, device, seq)
) PARTITION BY LIST (epoch);
CREATE INDEX IF NOT EXISTS telemetry_by_device ON telemetry (device, seq);

-- Conflicting copies kept as evidence: each distinct copy once, a bounded number per device
-- and epoch (enforced by the commit).
CREATE TABLE IF NOT EXISTS conflicts (
    epoch BIGINT NOT NULL,
    device BYTEA NOT NULL,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    canonical BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (epoch, device, seq, hash)
);

-- Every epoch up to sealed_through is sealed: each commit holds a shared lock on this row
-- and refuses sealed epochs; a seal takes the row, so it waits for the commits in flight.
CREATE TABLE IF NOT EXISTS seal_watermark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed_through BIGINT
);
INSERT INTO seal_watermark (id, sealed_through) VALUES (1, NULL) ON CONFLICT DO NOTHING;

-- Manifests of sealed epochs (written after the seal; computed again if missing).
CREATE TABLE IF NOT EXISTS manifests (
    epoch BIGINT PRIMARY KEY,
    manifest TEXT NOT NULL
);
