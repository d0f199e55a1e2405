-- A provider whose record changed gets its current version closed at the load time.
UPDATE dim_provider
SET valid_to = :as_of
WHERE valid_to IS NULL
  AND EXISTS (
      SELECT 1 FROM dim_provider_incoming AS incoming
      WHERE incoming.provider_id = dim_provider.provider_id
        AND incoming.record_sha256 <> dim_provider.record_sha256
  )
