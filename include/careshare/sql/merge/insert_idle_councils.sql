-- Every council valid on the report date has a summary row, even one with no locations.
INSERT INTO daily_rollup (report_date, scope, scope_id)
SELECT :report_date, 'la', la.la_code
FROM ref_local_authority AS la
WHERE la.valid_from <= :report_date
  AND (la.valid_to IS NULL OR la.valid_to >= :report_date)
  AND NOT EXISTS (
      SELECT 1 FROM daily_rollup AS r
      WHERE r.report_date = :report_date AND r.scope = 'la' AND r.scope_id = la.la_code
  )
