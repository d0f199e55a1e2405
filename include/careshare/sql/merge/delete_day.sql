DELETE FROM stg_match WHERE report_date = :report_date;
DELETE FROM superseded_row WHERE report_date = :report_date;
DELETE FROM location_daily WHERE report_date = :report_date;
DELETE FROM daily_rollup WHERE report_date = :report_date;
DELETE FROM quarantine_row WHERE report_date = :report_date AND stage = 'merge';
DELETE FROM merge_candidate WHERE report_date = :report_date;
DELETE FROM merge_directory_day WHERE report_date = :report_date;
DELETE FROM merge_crosswalk WHERE report_date = :report_date
