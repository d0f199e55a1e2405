DELETE FROM publish_handoff WHERE report_date = :report_date;
INSERT INTO publish_handoff (report_date, feed, status, sha256, handed_at)
SELECT report_date, feed, status, sha256, :handed_at
FROM feed_day
WHERE report_date = :report_date
