-- Report dates whose feed-day state (feed_day holds settled states only: loaded, absent, expired, failed)
-- no publish run was handed: never handed, or changed since (a correction loaded, a failed day
-- reloaded). Whether the date is ready is decided by the caller.
SELECT DISTINCT f.report_date
FROM feed_day AS f
LEFT JOIN publish_handoff AS h ON h.report_date = f.report_date AND h.feed = f.feed
WHERE h.feed IS NULL OR h.status <> f.status OR COALESCE(h.sha256, '') <> COALESCE(f.sha256, '')
ORDER BY f.report_date
