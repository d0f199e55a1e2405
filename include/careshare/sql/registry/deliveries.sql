-- Every delivery received, newest report date first, optionally for one feed and/or one date
-- (`careshare registry show`).
SELECT feed, report_date, status, sha256, rows_delivered, bytes, route, received_at, superseded_by, message
FROM raw_delivery
WHERE (CAST(:feed AS VARCHAR(30)) IS NULL OR feed = :feed)
  AND (CAST(:report_date AS DATE) IS NULL OR report_date = :report_date)
ORDER BY report_date DESC, feed, received_at, sha256
