-- Step 1: the normalised CQC location id, when the directory has it.
INSERT INTO stg_match (report_date, feed, source_row, location_id, match_method, match_score)
SELECT s.report_date, s.feed, s.source_row, d.location_id, 'location_id', 1.0
FROM stg_submission AS s
JOIN feed_day AS f
  ON f.feed = s.feed AND f.report_date = s.report_date AND f.sha256 = s.source_sha256 AND f.status = 'loaded'
JOIN dim_location AS d
  ON d.location_id = s.cqc_location_id
  AND d.valid_from <= :directory_as_of AND (d.valid_to IS NULL OR d.valid_to > :directory_as_of)
WHERE s.report_date = :report_date
  AND NOT EXISTS (
      SELECT 1 FROM stg_match AS m
      WHERE m.feed = s.feed AND m.report_date = s.report_date AND m.source_row = s.source_row
  )
