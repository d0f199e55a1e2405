-- Locations expected to answer on the report date, with the council valid on that date: registered
-- then, not a service that never reports (Shared Lives), and, for community services, only while
-- a collection covered them (homecare agencies alone until the CQC form was extended); as the date's
-- pinned directory has them.
SELECT d.location_id, p.la_code, la.la_name, la.region_code, la.region_name,
       CASE WHEN d.care_home = 'Y' THEN 'care_home' ELSE 'community' END AS service_group
FROM dim_location AS d
JOIN ref_la_name_period AS p
  ON p.la_name_key = d.la_name_key AND :report_date BETWEEN p.valid_from AND p.valid_to
JOIN ref_local_authority AS la
  ON la.la_code = p.la_code
WHERE d.valid_from <= :directory_as_of AND (d.valid_to IS NULL OR d.valid_to > :directory_as_of)
  AND d.expected_to_report = TRUE
  AND (d.registration_date IS NULL OR d.registration_date <= :report_date)
  AND (d.deregistration_date IS NULL OR d.deregistration_date >= :report_date)
  AND (
      d.care_home = 'Y'
      OR (:community_collected = TRUE
          AND (:all_community_services = TRUE OR d.service_types LIKE '%Homecare agencies%'))
  )
