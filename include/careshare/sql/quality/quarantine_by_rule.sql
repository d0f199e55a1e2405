-- Rows held back per feed and rule on the report date (current deliveries only).
SELECT q.feed, q.stage, q.rule, q.severity, COUNT(DISTINCT q.source_row) AS rows_failing, MIN(q.message) AS example
FROM quarantine_row AS q
JOIN feed_day AS f
  ON f.feed = q.feed AND f.report_date = q.report_date AND f.sha256 = q.source_sha256
WHERE q.report_date = :report_date
GROUP BY q.feed, q.stage, q.rule, q.severity
ORDER BY q.feed, rows_failing DESC, q.rule
