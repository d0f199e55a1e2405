INSERT INTO superseded_row (
    report_date, feed, source_sha256, source_row, location_id,
    winner_feed, winner_sha256, winner_source_row, reason
)
SELECT
    c.report_date, c.feed, s.source_sha256, c.source_row, c.location_id,
    w.feed, ws.source_sha256, w.source_row,
    CASE WHEN c.feed <> w.feed THEN 'source precedence'
         WHEN s.submitted_at IS NULL OR s.submitted_at < ws.submitted_at THEN 'later submission'
         ELSE 'duplicate row'
    END
FROM merge_candidate AS c
JOIN merge_candidate AS w
  ON w.report_date = c.report_date AND w.location_id = c.location_id AND w.rank_in_location = 1
JOIN stg_submission AS s
  ON s.feed = c.feed AND s.report_date = c.report_date AND s.source_row = c.source_row
JOIN stg_submission AS ws
  ON ws.feed = w.feed AND ws.report_date = w.report_date AND ws.source_row = w.source_row
WHERE c.report_date = :report_date AND c.rank_in_location > 1
