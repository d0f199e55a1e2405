SELECT location_id, la_code, service_group, stale
FROM location_daily
WHERE report_date = :report_date
