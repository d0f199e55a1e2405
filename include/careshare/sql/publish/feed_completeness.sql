-- Each feed's recorded state on the report date; a feed with no row was not settled or not collected.
SELECT feed, status, rule
FROM feed_day
WHERE report_date = :report_date
ORDER BY feed
