-- The file each feed's day holds (the day's current state, as its completeness states it), with
-- the latest receipt of those bytes: the one that made the day be built from them.
SELECT f.feed, f.sha256, MAX(r.received_at) AS received_at
FROM feed_day AS f
LEFT JOIN delivery_receipt AS r ON r.feed = f.feed AND r.report_date = f.report_date AND r.sha256 = f.sha256
WHERE f.report_date = :report_date AND f.sha256 IS NOT NULL
GROUP BY f.feed, f.sha256
ORDER BY f.feed
