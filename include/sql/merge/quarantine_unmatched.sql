INSERT INTO quarantine_row (
    report_date, feed, source_sha256, source_row, stage, rule, column_name, severity, value, message,
    raw_record, location_id
)
SELECT
    s.report_date, s.feed, s.source_sha256, s.source_row, 'merge',
    CASE WHEN m.location_id IS NULL THEN 'match.unmatched' ELSE 'match.unknown_la' END,
    CASE WHEN m.location_id IS NULL THEN 'cqc_location_id' ELSE 'la_name' END,
    'critical',
    COALESCE(s.cqc_location_id_raw, s.cqc_location_id),
    CASE WHEN m.location_id IS NULL
         THEN 'no CQC location matches id ''' || COALESCE(s.cqc_location_id_raw, s.cqc_location_id, '')
              || ''', ODS code ''' || COALESCE(s.ods_code, '') || ''', name ''' || COALESCE(s.name, '')
              || ''', postcode ''' || COALESCE(s.postcode, '') || ''''
         ELSE 'the directory council of location ' || m.location_id
              || ' has no ONS code valid on the report date'
    END,
    NULL,
    m.location_id
FROM stg_match AS m
JOIN stg_submission AS s
  ON s.feed = m.feed AND s.report_date = m.report_date AND s.source_row = m.source_row
WHERE m.report_date = :report_date AND (m.location_id IS NULL OR m.la_code IS NULL)
