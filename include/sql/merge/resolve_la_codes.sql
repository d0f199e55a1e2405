-- The directory names today's council; the code is the one valid on the report date.
UPDATE stg_match
SET la_code = (
    SELECT p.la_code
    FROM dim_location AS d
    JOIN ref_la_name_period AS p ON p.la_name_key = d.la_name_key
    WHERE d.location_id = stg_match.location_id
      AND d.valid_to IS NULL
      AND stg_match.report_date BETWEEN p.valid_from AND p.valid_to
)
WHERE report_date = :report_date AND location_id IS NOT NULL
