-- One winner per location: Capacity Tracker before the CQC form (CT is the system of record
-- from 2020-11-30; before that the two never describe the same location), then the latest
-- submission, then the later row of the file.
INSERT INTO merge_candidate (report_date, feed, source_row, location_id, rank_in_location)
SELECT m.report_date, m.feed, m.source_row, m.location_id,
       ROW_NUMBER() OVER (
           PARTITION BY m.location_id
           ORDER BY CASE s.feed WHEN 'cqc_update' THEN 1 ELSE 0 END,
                    CASE WHEN s.submitted_at IS NULL THEN 1 ELSE 0 END,
                    s.submitted_at DESC,
                    s.feed,
                    s.source_row DESC
       )
FROM stg_match AS m
JOIN stg_submission AS s
  ON s.feed = m.feed AND s.report_date = m.report_date AND s.source_row = m.source_row
WHERE m.report_date = :report_date AND m.location_id IS NOT NULL AND m.la_code IS NOT NULL
