SELECT feed, source_row, COUNT(*) AS outcomes
FROM (
    SELECT DISTINCT feed, source_row FROM quarantine_row WHERE report_date = :report_date
    UNION ALL
    SELECT feed, source_row FROM superseded_row WHERE report_date = :report_date
    UNION ALL
    SELECT source_feed, source_row FROM location_daily WHERE report_date = :report_date
) AS outcome
GROUP BY feed, source_row
HAVING COUNT(*) > 1
ORDER BY feed, source_row
