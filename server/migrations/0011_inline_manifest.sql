-- The sealed manifest itself (base64), so a playback session's answer carries it and the
-- player need not fetch it before its first segment. NULL for packages published before.
ALTER TABLE packages ADD COLUMN manifest_sealed TEXT;
