DELETE FROM stg_match WHERE report_date = :report_date;
DELETE FROM merge_candidate WHERE report_date = :report_date;
DELETE FROM superseded_row WHERE report_date = :report_date;
DELETE FROM location_daily WHERE report_date = :report_date;
DELETE FROM quarantine_row WHERE report_date = :report_date AND stage = 'merge'
