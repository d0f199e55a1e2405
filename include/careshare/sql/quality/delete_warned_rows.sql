DELETE FROM warned_row WHERE feed = :feed AND report_date = :report_date
