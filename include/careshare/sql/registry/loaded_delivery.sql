-- The delivery a feed's day is currently built from, if it loaded.
SELECT sha256 FROM feed_day
WHERE feed = :feed AND report_date = :report_date AND status = 'loaded'
