SELECT feed, report_date, status, sha256, rows_delivered, rows_quarantined, rows_staged, rule, message
FROM feed_day
WHERE report_date = :report_date
ORDER BY feed
