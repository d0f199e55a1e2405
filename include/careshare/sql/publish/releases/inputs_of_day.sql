SELECT dataset, version, feed, status, sha256, received_at, caused
FROM publish_release_input
WHERE report_date = :report_date
ORDER BY dataset, version, feed
