-- The roll-ups count every published row once per council and once per provider.
SELECT
    'la' AS scope,
    (SELECT COALESCE(SUM(locations_reporting + locations_reporting_unexpected), 0)
       FROM daily_rollup WHERE report_date = :report_date AND scope = 'la') AS rolled_up,
    (SELECT COUNT(*) FROM location_daily WHERE report_date = :report_date) AS published
UNION ALL
SELECT
    'provider',
    (SELECT COALESCE(SUM(locations_reporting + locations_reporting_unexpected), 0)
       FROM daily_rollup WHERE report_date = :report_date AND scope = 'provider'),
    (SELECT COUNT(*) FROM location_daily WHERE report_date = :report_date AND provider_id IS NOT NULL)
