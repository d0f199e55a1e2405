-- Every delivered row of each loaded feed ends exactly once: published, superseded or quarantined.
SELECT
    f.feed,
    f.rows_delivered,
    (SELECT COUNT(DISTINCT q.source_row) FROM quarantine_row AS q
      WHERE q.feed = f.feed AND q.report_date = f.report_date AND q.source_sha256 = f.sha256) AS quarantined,
    (SELECT COUNT(*) FROM superseded_row AS r
      WHERE r.feed = f.feed AND r.report_date = f.report_date AND r.source_sha256 = f.sha256) AS superseded,
    (SELECT COUNT(*) FROM location_daily AS l
      WHERE l.source_feed = f.feed AND l.report_date = f.report_date AND l.source_sha256 = f.sha256) AS published
FROM feed_day AS f
WHERE f.report_date = :report_date AND f.status = 'loaded'
ORDER BY f.feed
