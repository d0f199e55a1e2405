SELECT sha256, archive_uri, route, source, received_at
FROM raw_delivery
WHERE feed = :feed AND report_date = :report_date
ORDER BY received_at DESC, sha256
LIMIT 1
