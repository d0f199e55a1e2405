-- One row per distinct file: the same bytes delivered again add a receipt (record_receipt), not a row.
INSERT INTO raw_delivery (feed, report_date, sha256, bytes, route, source, archive_uri, received_at, status)
VALUES (:feed, :report_date, :sha256, :bytes, :route, :source, :archive_uri, :received_at, 'received')
ON CONFLICT (feed, report_date, sha256) DO NOTHING
