SELECT match_method, COUNT(*) AS matched
FROM stg_match
WHERE report_date = :report_date
GROUP BY match_method
ORDER BY match_method
