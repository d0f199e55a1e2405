-- Matched, but the directory's council has no ONS code on the report date: held, not guessed.
INSERT INTO quarantine_row (
    report_date, feed, source_sha256, source_row, stage, rule, column_name, severity, value, message,
    raw_record, location_id
)
SELECT
    s.report_date, s.feed, s.source_sha256, s.source_row, 'merge', 'match.unknown_la', 'la_name', 'critical',
    d.la_name,
    'location ' || m.location_id || ' is in council ''' || COALESCE(d.la_name, '') || ''' in the CQC directory, '
        || 'which has no ONS code valid on the report date in local_authorities.csv',
    NULL,
    m.location_id
FROM merge_directory_day AS dd
JOIN stg_match AS m
  ON m.report_date = dd.report_date AND m.location_id = dd.location_id
JOIN stg_submission AS s
  ON s.feed = m.feed AND s.report_date = m.report_date AND s.source_row = m.source_row
JOIN dim_location AS d
  ON d.location_id = m.location_id
  AND d.valid_from <= :directory_as_of AND (d.valid_to IS NULL OR d.valid_to > :directory_as_of)
WHERE dd.report_date = :report_date AND dd.la_code IS NULL
