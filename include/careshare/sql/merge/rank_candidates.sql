-- One winner per location. The system of record first: care homes from the CT care-home
-- section; community services from the CQC form before the transition and from CT home care
-- from then (the community_record_feed parameter), so a CQC answer in the overlap wins only where CT has no
-- row. Then, within a feed, the latest submission; on equal timestamps the first row of the file.
INSERT INTO merge_candidate (report_date, feed, source_row, location_id, rank_in_location, candidates)
SELECT m.report_date, m.feed, m.source_row, m.location_id,
       ROW_NUMBER() OVER (
           PARTITION BY m.location_id
           ORDER BY CASE WHEN dd.service_group = 'care_home'
                         THEN CASE m.feed WHEN 'ct_care_homes' THEN 0 WHEN 'ct_home_care' THEN 1 ELSE 2 END
                         ELSE CASE m.feed WHEN :community_record_feed THEN 0 WHEN 'ct_care_homes' THEN 2 ELSE 1 END
                    END,
                    CASE WHEN s.submitted_at IS NULL THEN 1 ELSE 0 END,
                    s.submitted_at DESC,
                    s.source_row
       ),
       COUNT(*) OVER (PARTITION BY m.location_id)
FROM stg_match AS m
JOIN stg_submission AS s
  ON s.feed = m.feed AND s.report_date = m.report_date AND s.source_row = m.source_row
JOIN merge_directory_day AS dd
  ON dd.report_date = m.report_date AND dd.location_id = m.location_id
WHERE m.report_date = :report_date AND dd.la_code IS NOT NULL
