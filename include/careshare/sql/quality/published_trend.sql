SELECT report_date, COUNT(*) AS published, SUM(CASE WHEN stale = TRUE THEN 1 ELSE 0 END) AS stale
FROM location_daily
WHERE report_date BETWEEN :first_date AND :report_date
GROUP BY report_date
