-- What a release was published from, per feed; `caused` marks the feeds that differ from the
-- previous version's (the release's reason).
INSERT INTO publish_release_input (dataset, report_date, version, feed, status, sha256, received_at, caused)
VALUES (:dataset, :report_date, :version, :feed, :status, :sha256, :received_at, :caused)
ON CONFLICT (dataset, report_date, version, feed) DO NOTHING
