-- The same bytes delivered again are a no-op: the first receipt stands.
INSERT INTO raw_delivery (feed, report_date, sha256, bytes, route, source, archive_uri, received_at, status)
VALUES (:feed, :report_date, :sha256, :bytes, :route, :source, :archive_uri, :received_at, 'received')
ON CONFLICT (feed, report_date, sha256) DO NOTHING
