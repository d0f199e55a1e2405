-- The newest receipt of a feed's day: what the day is to be built from.
SELECT r.sha256, d.archive_uri, r.route, r.source, r.received_at, r.declared_sha256
FROM delivery_receipt AS r
JOIN raw_delivery AS d ON d.feed = r.feed AND d.report_date = r.report_date AND d.sha256 = r.sha256
WHERE r.feed = :feed AND r.report_date = :report_date
ORDER BY r.received_at DESC, r.sha256
LIMIT 1
