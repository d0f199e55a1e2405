-- A usable delivery replaces every earlier one of its day; a rejected one keeps its status.
UPDATE raw_delivery
SET status = CASE WHEN status = 'rejected' THEN status ELSE 'superseded' END, superseded_by = :sha256
WHERE feed = :feed
  AND report_date = :report_date
  AND sha256 <> :sha256
  AND received_at <= (
      SELECT current.received_at FROM raw_delivery AS current
      WHERE current.feed = :feed AND current.report_date = :report_date AND current.sha256 = :sha256
  )
