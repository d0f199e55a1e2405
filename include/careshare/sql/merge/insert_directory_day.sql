-- The directory describes each location as the date's pinned load knew it (see merge.py); this is
-- what it means for the report date: the council code valid that day, whether the location was
-- registered, and whether it was asked to report (registered, not a Shared Lives scheme, and its
-- collection open that day).
INSERT INTO merge_directory_day (
    report_date, location_id, provider_id, la_code, service_group, expected_to_report,
    registered, deregistered, expected
)
SELECT
    :report_date, d.location_id, d.provider_id, p.la_code,
    CASE WHEN d.care_home = 'Y' THEN 'care_home' ELSE 'community' END,
    d.expected_to_report,
    CASE WHEN d.registered_on_day = 1 THEN TRUE ELSE FALSE END,
    CASE WHEN d.deregistration_date < :report_date THEN TRUE ELSE FALSE END,
    CASE WHEN d.registered_on_day = 1 AND d.expected_to_report AND (
            (d.care_home = 'Y' AND :care_homes_asked)
            OR (d.care_home = 'N' AND d.service_types LIKE '%Homecare agencies%' AND :homecare_asked)
            OR (d.care_home = 'N' AND :housing_services_asked AND (
                d.service_types LIKE '%Extra Care housing%' OR d.service_types LIKE '%Supported living%'))
         )
         THEN TRUE ELSE FALSE END
FROM (
    SELECT location_id, provider_id, la_name_key, care_home, service_types, expected_to_report, deregistration_date,
           CASE WHEN (registration_date IS NULL OR registration_date <= :report_date)
                 AND (deregistration_date IS NULL OR deregistration_date >= :report_date)
                THEN 1 ELSE 0 END AS registered_on_day
    FROM dim_location
    WHERE valid_from <= :directory_as_of AND (valid_to IS NULL OR valid_to > :directory_as_of)
) AS d
LEFT JOIN ref_la_name_period AS p
  ON p.la_name_key = d.la_name_key AND :report_date BETWEEN p.valid_from AND p.valid_to
