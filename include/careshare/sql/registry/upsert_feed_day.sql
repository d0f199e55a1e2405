INSERT INTO feed_day (feed, report_date, status, sha256, rows_delivered, rows_quarantined, rows_staged,
                      rule, message, updated_at)
VALUES (:feed, :report_date, :status, :sha256, :rows_delivered, :rows_quarantined, :rows_staged,
        :rule, :message, :updated_at)
ON CONFLICT (feed, report_date) DO UPDATE SET
    status = excluded.status,
    sha256 = excluded.sha256,
    rows_delivered = excluded.rows_delivered,
    rows_quarantined = excluded.rows_quarantined,
    rows_staged = excluded.rows_staged,
    rule = excluded.rule,
    message = excluded.message,
    updated_at = excluded.updated_at
