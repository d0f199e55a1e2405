SELECT location_id, provider_id, name, ods_code, postcode, la_name, la_name_key, region,
       registration_status, registration_date, deregistration_date, care_home, expected_to_report
FROM dim_location
WHERE valid_to IS NULL
ORDER BY location_id
