INSERT INTO delivery_receipt (feed, report_date, received_at, sha256, route, source, etag, last_modified,
                              declared_sha256)
VALUES (:feed, :report_date, :received_at, :sha256, :route, :source, :etag, :last_modified, :declared_sha256)
