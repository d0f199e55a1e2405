-- Rows no identifier matched, each with the directory locations at its postcode (one row per
-- candidate, or one row with no candidate), for the name match and, failing that, the quarantine.
SELECT
    s.feed, s.source_row, s.source_sha256, s.record_id, s.cqc_location_id, s.cqc_location_id_raw,
    s.ods_code, s.name, s.postcode, s.la_name_reported, s.service_type,
    (SELECT COUNT(*) FROM dim_location AS o
      WHERE o.ods_code = s.ods_code
        AND o.valid_from <= :directory_as_of AND (o.valid_to IS NULL OR o.valid_to > :directory_as_of)
    ) AS ods_locations,
    d.location_id AS candidate_id, d.name AS candidate_name, d.care_home AS candidate_care_home
FROM stg_submission AS s
JOIN feed_day AS f
  ON f.feed = s.feed AND f.report_date = s.report_date AND f.sha256 = s.source_sha256 AND f.status = 'loaded'
LEFT JOIN stg_match AS m
  ON m.feed = s.feed AND m.report_date = s.report_date AND m.source_row = s.source_row
LEFT JOIN dim_location AS d
  ON d.postcode = s.postcode
  AND d.valid_from <= :directory_as_of AND (d.valid_to IS NULL OR d.valid_to > :directory_as_of)
WHERE s.report_date = :report_date AND m.source_row IS NULL
ORDER BY s.feed, s.source_row, d.location_id
