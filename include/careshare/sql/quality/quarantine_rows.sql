-- The day's quarantined rows of each feed's current delivery, with the location the merge tied the
-- row to where it held it (a council without an ONS code on the date).
SELECT q.feed, q.source_sha256, q.source_row, q.stage, q.rule, q.column_name, q.severity, q.value,
       q.message, q.raw_record, q.location_id
FROM quarantine_row AS q
JOIN feed_day AS f
  ON f.feed = q.feed AND f.report_date = q.report_date AND f.sha256 = q.source_sha256
WHERE q.report_date = :report_date
ORDER BY q.feed, q.source_row, q.rule, q.column_name
