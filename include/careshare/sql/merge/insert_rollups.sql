-- Each directory location of the day, with its published row if any, summed once per provider
-- and once per council. Booleans are summed through CASE so the SQL runs on SQLite and PostgreSQL.
WITH unit AS (
    SELECT
        dd.provider_id, dd.la_code, dd.registered, dd.expected, dd.service_group AS directory_group,
        l.location_id AS reported_location, l.la_code AS reported_la, l.service_group,
        l.beds_total, l.beds_vacant, l.people_supported, l.people_covid_confirmed, l.people_covid_suspected,
        l.staff_employed, l.staff_absent_covid, l.hours_unable_to_deliver,
        l.stale, l.deregistered_but_reporting, l.unexpected_reporter,
        CASE WHEN 'Red' IN (l.ppe_masks, l.ppe_gloves, l.ppe_aprons, l.ppe_eye_protection, l.ppe_hand_hygiene)
             THEN 1 ELSE 0 END AS ppe_red
    FROM merge_directory_day AS dd
    LEFT JOIN location_daily AS l
      ON l.report_date = dd.report_date AND l.location_id = dd.location_id
    WHERE dd.report_date = :report_date
),
scoped AS (
    SELECT 'provider' AS scope, provider_id AS scope_id, unit.* FROM unit WHERE provider_id IS NOT NULL
    UNION ALL
    SELECT 'la' AS scope, la_code AS scope_id, unit.* FROM unit WHERE la_code IS NOT NULL
)
INSERT INTO daily_rollup (
    report_date, scope, scope_id,
    locations_registered, locations_expected, locations_reporting, locations_reporting_unexpected,
    care_homes_expected, care_homes_reporting, community_services_expected, community_services_reporting,
    councils_reporting,
    beds_total, beds_vacant, care_home_residents, care_home_residents_covid_confirmed,
    care_home_residents_covid_suspected, care_home_staff_employed, care_home_staff_absent_covid,
    community_people_supported, community_people_covid_confirmed, community_people_covid_suspected,
    community_staff_employed, community_staff_absent_covid, community_hours_unable_to_deliver,
    locations_ppe_red, locations_stale, locations_deregistered_reporting, locations_unexpected_reporter
)
SELECT
    :report_date, scope, scope_id,
    SUM(CASE WHEN registered THEN 1 ELSE 0 END),
    SUM(CASE WHEN expected THEN 1 ELSE 0 END),
    SUM(CASE WHEN expected AND reported_location IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN NOT expected AND reported_location IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN expected AND directory_group = 'care_home' THEN 1 ELSE 0 END),
    SUM(CASE WHEN service_group = 'care_home' THEN 1 ELSE 0 END),
    SUM(CASE WHEN expected AND directory_group = 'community' THEN 1 ELSE 0 END),
    SUM(CASE WHEN service_group = 'community' THEN 1 ELSE 0 END),
    COUNT(DISTINCT reported_la),
    SUM(CASE WHEN service_group = 'care_home' THEN beds_total END),
    SUM(CASE WHEN service_group = 'care_home' THEN beds_vacant END),
    SUM(CASE WHEN service_group = 'care_home' THEN people_supported END),
    SUM(CASE WHEN service_group = 'care_home' THEN people_covid_confirmed END),
    SUM(CASE WHEN service_group = 'care_home' THEN people_covid_suspected END),
    SUM(CASE WHEN service_group = 'care_home' THEN staff_employed END),
    SUM(CASE WHEN service_group = 'care_home' THEN staff_absent_covid END),
    SUM(CASE WHEN service_group = 'community' THEN people_supported END),
    SUM(CASE WHEN service_group = 'community' THEN people_covid_confirmed END),
    SUM(CASE WHEN service_group = 'community' THEN people_covid_suspected END),
    SUM(CASE WHEN service_group = 'community' THEN staff_employed END),
    SUM(CASE WHEN service_group = 'community' THEN staff_absent_covid END),
    SUM(CASE WHEN service_group = 'community' THEN hours_unable_to_deliver END),
    SUM(ppe_red),
    SUM(CASE WHEN stale THEN 1 ELSE 0 END),
    SUM(CASE WHEN deregistered_but_reporting THEN 1 ELSE 0 END),
    SUM(CASE WHEN unexpected_reporter THEN 1 ELSE 0 END)
FROM scoped
GROUP BY scope, scope_id
HAVING SUM(CASE WHEN registered OR reported_location IS NOT NULL THEN 1 ELSE 0 END) > 0
