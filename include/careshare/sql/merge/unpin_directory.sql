DELETE FROM directory_pin WHERE report_date = :report_date
