-- Every delivery of a feed for the report dates in a range, whatever became of it.
SELECT report_date, sha256
FROM raw_delivery
WHERE feed = :feed AND report_date BETWEEN :first AND :last
ORDER BY report_date, received_at, sha256
