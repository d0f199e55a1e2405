-- A location published twice for one date (the table's key forbids it; checked as published).
SELECT location_id, COUNT(*) AS rows_published
FROM location_daily
WHERE report_date = :report_date
GROUP BY location_id
HAVING COUNT(*) > 1
ORDER BY location_id
