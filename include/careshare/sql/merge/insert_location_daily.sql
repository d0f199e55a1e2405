INSERT INTO location_daily (
    report_date, location_id, la_code, la_name, region_code, region_name, provider_id, location_name,
    postcode, service_group, service_type, registration_status, deregistered_but_reporting,
    unexpected_reporter, last_updated_at, days_since_update, stale,
    beds_total, beds_vacant, accepting_admissions,
    people_supported, people_covid_confirmed, people_covid_suspected,
    people_newly_confirmed_today, people_newly_suspected_today,
    staff_employed, staff_absent_covid, staff_absent_other,
    staff_newly_confirmed_today, staff_newly_suspected_today,
    can_provide_more_hours, hours_unable_to_deliver, unable_to_deliver_care,
    covid_deaths_since_last_update,
    ppe_masks, ppe_gloves, ppe_aprons, ppe_eye_protection, ppe_hand_hygiene,
    visiting_status, icf_staff_single_site, icf_full_pay_when_isolating, icf_funding_received,
    source_feed, source_sha256, source_row, source_record_id, superseded_rows, match_method, match_score
)
SELECT
    c.report_date, c.location_id, la.la_code, la.la_name, la.region_code, la.region_name,
    d.provider_id, d.name, d.postcode, s.service_group, s.service_type, d.registration_status,
    dd.deregistered,
    CASE WHEN dd.expected_to_report THEN FALSE ELSE TRUE END,
    s.submitted_at, s.days_since_update,
    CASE WHEN s.days_since_update > :stale_after_days THEN TRUE ELSE FALSE END,
    s.beds_total, s.beds_vacant, s.accepting_admissions,
    s.people_supported, s.people_covid_confirmed, s.people_covid_suspected,
    s.people_newly_confirmed_today, s.people_newly_suspected_today,
    s.staff_employed, s.staff_absent_covid, s.staff_absent_other,
    s.staff_newly_confirmed_today, s.staff_newly_suspected_today,
    s.can_provide_more_hours, s.hours_unable_to_deliver, s.unable_to_deliver_care,
    s.covid_deaths_since_last_update,
    s.ppe_masks, s.ppe_gloves, s.ppe_aprons, s.ppe_eye_protection, s.ppe_hand_hygiene,
    s.visiting_status, s.icf_staff_single_site, s.icf_full_pay_when_isolating, s.icf_funding_received,
    s.feed, s.source_sha256, s.source_row, s.record_id, c.candidates - 1, m.match_method, m.match_score
FROM merge_candidate AS c
JOIN stg_submission AS s
  ON s.feed = c.feed AND s.report_date = c.report_date AND s.source_row = c.source_row
JOIN stg_match AS m
  ON m.feed = c.feed AND m.report_date = c.report_date AND m.source_row = c.source_row
JOIN merge_directory_day AS dd
  ON dd.report_date = c.report_date AND dd.location_id = c.location_id
JOIN dim_location AS d
  ON d.location_id = c.location_id
  AND d.valid_from <= :directory_as_of AND (d.valid_to IS NULL OR d.valid_to > :directory_as_of)
JOIN ref_local_authority AS la
  ON la.la_code = dd.la_code
WHERE c.report_date = :report_date AND c.rank_in_location = 1
