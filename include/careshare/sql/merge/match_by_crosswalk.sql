-- Step 0 of the matching cascade: a person's decision in the crosswalk beats every rule below.
-- Only rows of the delivery currently loaded for each feed take part.
INSERT INTO stg_match (report_date, feed, source_row, location_id, match_method, match_score)
SELECT s.report_date, s.feed, s.source_row, x.location_id, 'crosswalk', 1.0
FROM stg_submission AS s
JOIN feed_day AS f
  ON f.feed = s.feed AND f.report_date = s.report_date AND f.sha256 = s.source_sha256 AND f.status = 'loaded'
JOIN merge_crosswalk AS x
  ON x.report_date = s.report_date AND x.feed = s.feed AND x.record_id = s.record_id
WHERE s.report_date = :report_date
