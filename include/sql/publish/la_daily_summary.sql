SELECT
    r.*,
    la.la_code, la.la_name, la.region_code, la.region_name,
    CASE WHEN r.locations_expected > 0
         THEN CAST(r.locations_reporting AS DOUBLE PRECISION) / r.locations_expected END AS completion_rate
FROM daily_rollup AS r
JOIN ref_local_authority AS la
  ON la.la_code = r.scope_id
WHERE r.report_date = :report_date AND r.scope = 'la'
ORDER BY r.scope_id
