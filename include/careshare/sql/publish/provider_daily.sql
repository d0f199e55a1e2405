SELECT
    r.*,
    r.scope_id AS provider_id,
    p.name AS provider_name,
    CASE WHEN r.locations_expected > 0
         THEN CAST(r.locations_reporting AS DOUBLE PRECISION) / r.locations_expected END AS completion_rate
FROM daily_rollup AS r
LEFT JOIN dim_provider AS p
  ON p.provider_id = r.scope_id
  AND p.valid_from <= :directory_as_of AND (p.valid_to IS NULL OR p.valid_to > :directory_as_of)
WHERE r.report_date = :report_date AND r.scope = 'provider'
ORDER BY r.scope_id
