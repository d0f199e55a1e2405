-- Every council's roll-up with the date's feed states beside its completion rate. The published
-- statuses are careshare.publish.completeness's; a feed with no row is not collected on the date
-- (a date is published once every feed the contract collects on it has a state).
WITH feed_state AS (
    SELECT
        feed,
        rule,
        CASE
            WHEN status = 'loaded' THEN 'loaded'
            WHEN status = 'absent' THEN 'not_collected'
            WHEN status = 'failed' AND COALESCE(rule, '') <> 'delivery.missing' THEN 'failed'
            ELSE 'missing'
        END AS state
    FROM feed_day
    WHERE report_date = :report_date
),
problem AS (
    SELECT feed, feed || ' ' || state || COALESCE(': ' || rule, '') AS described
    FROM feed_state
    WHERE state IN ('failed', 'missing')
),
day_feeds AS (
    SELECT
        COALESCE((SELECT state FROM feed_state WHERE feed = 'ct_care_homes'), 'not_collected')
            AS ct_care_homes_status,
        COALESCE((SELECT state FROM feed_state WHERE feed = 'ct_home_care'), 'not_collected')
            AS ct_home_care_status,
        COALESCE((SELECT state FROM feed_state WHERE feed = 'cqc_update'), 'not_collected')
            AS cqc_update_status,
        (SELECT COUNT(*) FROM problem) AS feeds_missing_or_failed,
        NULLIF(SUBSTR(
            COALESCE((SELECT '; ' || described FROM problem WHERE feed = 'ct_care_homes'), '')
            || COALESCE((SELECT '; ' || described FROM problem WHERE feed = 'ct_home_care'), '')
            || COALESCE((SELECT '; ' || described FROM problem WHERE feed = 'cqc_update'), ''),
            3
        ), '') AS feed_problems
)
SELECT
    r.*,
    la.la_code, la.la_name, la.region_code, la.region_name,
    CASE WHEN r.locations_expected > 0
         THEN CAST(r.locations_reporting AS DOUBLE PRECISION) / r.locations_expected END AS completion_rate,
    f.*
FROM daily_rollup AS r
JOIN ref_local_authority AS la
  ON la.la_code = r.scope_id
CROSS JOIN day_feeds AS f
WHERE r.report_date = :report_date AND r.scope = 'la'
ORDER BY r.scope_id
