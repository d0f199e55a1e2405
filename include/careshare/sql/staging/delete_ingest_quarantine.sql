DELETE FROM quarantine_row
WHERE feed = :feed AND report_date = :report_date AND stage IN ('parse', 'validate')
