-- Step 2: the ODS code, when exactly one location of the pinned directory carries it.
INSERT INTO stg_match (report_date, feed, source_row, location_id, match_method, match_score)
SELECT s.report_date, s.feed, s.source_row, d.location_id, 'ods_code', 1.0
FROM stg_submission AS s
JOIN feed_day AS f
  ON f.feed = s.feed AND f.report_date = s.report_date AND f.sha256 = s.source_sha256 AND f.status = 'loaded'
JOIN dim_location AS d
  ON d.ods_code = s.ods_code
  AND d.valid_from <= :directory_as_of AND (d.valid_to IS NULL OR d.valid_to > :directory_as_of)
WHERE s.report_date = :report_date
  AND NOT EXISTS (
      SELECT 1 FROM stg_match AS m
      WHERE m.feed = s.feed AND m.report_date = s.report_date AND m.source_row = s.source_row
  )
  AND NOT EXISTS (
      SELECT 1 FROM dim_location AS other
      WHERE other.ods_code = d.ods_code AND other.location_id <> d.location_id
        AND other.valid_from <= :directory_as_of AND (other.valid_to IS NULL OR other.valid_to > :directory_as_of)
  )
