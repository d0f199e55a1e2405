DELETE FROM source_check WHERE feed = :feed AND run_date = :run_date
