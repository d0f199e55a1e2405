-- The newest receipt of a feed's day from one source (a URL or a landing URI): what that source
-- served last, to compare with what it serves now.
SELECT sha256, etag, last_modified
FROM delivery_receipt
WHERE feed = :feed AND report_date = :report_date AND source = :source
ORDER BY received_at DESC, sha256
LIMIT 1
