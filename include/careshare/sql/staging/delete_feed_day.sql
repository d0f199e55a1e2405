DELETE FROM stg_submission WHERE feed = :feed AND report_date = :report_date
