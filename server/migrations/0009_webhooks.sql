-- Webhooks: the endpoints each API key's owner registers, and a durable outbox of deliveries
-- written in the same transaction as the change they report.
CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    api_key_id  TEXT NOT NULL REFERENCES api_keys(id),
    url         TEXT NOT NULL,
    -- The signing secret (`whsec_…`): the server needs it to sign, so it is kept as given out.
    secret      TEXT NOT NULL,
    -- Comma-separated event types.
    events      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);
CREATE INDEX webhook_endpoints_by_owner ON webhook_endpoints (api_key_id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    message_id      TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id),
    event_type      TEXT NOT NULL,
    asset_id        TEXT NOT NULL,
    -- Order of the endpoint's events about one asset: each waits for the ones before it.
    seq             BIGINT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    delivered_at    BIGINT,
    failed_at       BIGINT,
    last_status     BIGINT,
    last_error      TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (delivered_at, failed_at, next_attempt_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, asset_id, seq);
