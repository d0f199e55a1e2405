-- What the feed runs for a report date found when they looked again at past dates.
SELECT feed, report_date, outcome, sha256, message, checked_at
FROM source_check
WHERE run_date = :run_date
ORDER BY feed, report_date
