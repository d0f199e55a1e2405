-- New locations, and changed ones closed just above, get a version valid from the load time.
INSERT INTO dim_location (
    location_id, valid_from, valid_to, provider_id, name, ods_code, postcode, la_name, la_name_key,
    region, registration_status, registration_date, deregistration_date, care_home, number_of_beds,
    service_types, expected_to_report, record_sha256
)
SELECT
    incoming.location_id, :as_of, NULL, incoming.provider_id, incoming.name, incoming.ods_code,
    incoming.postcode, incoming.la_name, incoming.la_name_key, incoming.region,
    incoming.registration_status, incoming.registration_date, incoming.deregistration_date,
    incoming.care_home, incoming.number_of_beds, incoming.service_types,
    incoming.expected_to_report, incoming.record_sha256
FROM dim_location_incoming AS incoming
WHERE NOT EXISTS (
    SELECT 1 FROM dim_location AS current
    WHERE current.location_id = incoming.location_id AND current.valid_to IS NULL
)
