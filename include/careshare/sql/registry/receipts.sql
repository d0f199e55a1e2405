-- Every receipt of a feed's day, oldest first (`careshare registry show --receipts`).
SELECT received_at, sha256, route, source, etag, last_modified, declared_sha256
FROM delivery_receipt
WHERE feed = :feed AND report_date = :report_date
ORDER BY received_at, sha256
