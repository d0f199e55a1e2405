-- A location whose record changed gets its current version closed at the load time.
UPDATE dim_location
SET valid_to = :as_of
WHERE valid_to IS NULL
  AND EXISTS (
      SELECT 1 FROM dim_location_incoming AS incoming
      WHERE incoming.location_id = dim_location.location_id
        AND incoming.record_sha256 <> dim_location.record_sha256
  )
