-- Playback policy per asset (absent: private), and the source's data key for downloads.
CREATE TABLE asset_policies (
    asset_id      TEXT PRIMARY KEY REFERENCES assets(id),
    policy        TEXT NOT NULL,
    password_hash TEXT,
    updated_at    BIGINT NOT NULL
);

-- The sealed source's data key, wrapped by the KEK like the content key (workers store it
-- when they open the source), so that a download the policy allows can be released to a
-- browser without the workers' secret key.
ALTER TABLE asset_keys ADD COLUMN source_key TEXT;
