-- The day's warned rows of each feed's loaded delivery with what the merge made of them: published
-- as a location, superseded at a location by another row, quarantined by the merge, or not merged yet.
SELECT w.feed, w.source_sha256, w.source_row, w.rule, w.column_name, w.value, w.message,
       COALESCE(l.location_id, s.location_id) AS location_id,
       CASE WHEN l.location_id IS NOT NULL THEN 'published'
            WHEN s.location_id IS NOT NULL THEN 'superseded'
            WHEN EXISTS (
                SELECT 1 FROM quarantine_row AS q
                WHERE q.report_date = w.report_date AND q.feed = w.feed
                  AND q.source_sha256 = w.source_sha256 AND q.source_row = w.source_row
            ) THEN 'quarantined'
            ELSE 'not merged'
       END AS outcome
FROM warned_row AS w
JOIN feed_day AS f
  ON f.feed = w.feed AND f.report_date = w.report_date AND f.sha256 = w.source_sha256 AND f.status = 'loaded'
LEFT JOIN location_daily AS l
  ON l.report_date = w.report_date AND l.source_feed = w.feed
  AND l.source_sha256 = w.source_sha256 AND l.source_row = w.source_row
LEFT JOIN superseded_row AS s
  ON s.report_date = w.report_date AND s.feed = w.feed
  AND s.source_sha256 = w.source_sha256 AND s.source_row = w.source_row
WHERE w.report_date = :report_date
ORDER BY w.feed, w.source_row, w.rule, w.column_name
