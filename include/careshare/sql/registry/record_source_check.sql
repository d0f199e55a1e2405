INSERT INTO source_check (feed, run_date, report_date, checked_at, outcome, sha256, message)
VALUES (:feed, :run_date, :report_date, :checked_at, :outcome, :sha256, :message)
