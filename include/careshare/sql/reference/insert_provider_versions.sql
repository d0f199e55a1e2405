-- New providers, and changed ones closed just above, get a version valid from the load time.
INSERT INTO dim_provider (provider_id, valid_from, valid_to, name, record_sha256)
SELECT incoming.provider_id, :as_of, NULL, incoming.name, incoming.record_sha256
FROM dim_provider_incoming AS incoming
WHERE NOT EXISTS (
    SELECT 1 FROM dim_provider AS current
    WHERE current.provider_id = incoming.provider_id AND current.valid_to IS NULL
)
