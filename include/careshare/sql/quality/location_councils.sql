-- The locations of the date's pinned directory with the council valid on the report date (none
-- when the council has no ONS code that day), and what the merge matches rows on besides the CQC id.
SELECT d.location_id, d.ods_code, d.name, d.postcode, d.care_home, p.la_code
FROM dim_location AS d
LEFT JOIN ref_la_name_period AS p
  ON p.la_name_key = d.la_name_key AND :report_date BETWEEN p.valid_from AND p.valid_to
WHERE d.valid_from <= :directory_as_of AND (d.valid_to IS NULL OR d.valid_to > :directory_as_of)
