UPDATE raw_delivery
SET status = 'superseded', superseded_by = :sha256
WHERE feed = :feed
  AND report_date = :report_date
  AND sha256 <> :sha256
  AND received_at <= (
      SELECT current.received_at FROM raw_delivery AS current
      WHERE current.feed = :feed AND current.report_date = :report_date AND current.sha256 = :sha256
  )
