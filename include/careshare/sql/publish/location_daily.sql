SELECT * FROM location_daily WHERE report_date = :report_date ORDER BY la_code, location_id
