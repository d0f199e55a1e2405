UPDATE raw_delivery
SET status = :status, rows_delivered = :rows_delivered, message = :message, superseded_by = NULL
WHERE feed = :feed AND report_date = :report_date AND sha256 = :sha256
