-- Every delivered row of each loaded feed ends exactly once: published, superseded or quarantined.
SELECT
    f.feed,
    f.rows_delivered,
    COALESCE(q.n, 0) AS quarantined,
    COALESCE(r.n, 0) AS superseded,
    COALESCE(l.n, 0) AS published
FROM feed_day AS f
LEFT JOIN (
    SELECT feed, source_sha256, COUNT(DISTINCT source_row) AS n
    FROM quarantine_row WHERE report_date = :report_date GROUP BY feed, source_sha256
) AS q
  ON q.feed = f.feed AND q.source_sha256 = f.sha256
LEFT JOIN (
    SELECT feed, source_sha256, COUNT(*) AS n
    FROM superseded_row WHERE report_date = :report_date GROUP BY feed, source_sha256
) AS r
  ON r.feed = f.feed AND r.source_sha256 = f.sha256
LEFT JOIN (
    SELECT source_feed, source_sha256, COUNT(*) AS n
    FROM location_daily WHERE report_date = :report_date GROUP BY source_feed, source_sha256
) AS l
  ON l.source_feed = f.feed AND l.source_sha256 = f.sha256
WHERE f.report_date = :report_date AND f.status = 'loaded'
ORDER BY f.feed
