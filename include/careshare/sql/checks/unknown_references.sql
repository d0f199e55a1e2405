-- Published rows whose location is not in the date's pinned directory or whose council code is not
-- valid that day.
SELECT l.location_id, l.la_code
FROM location_daily AS l
LEFT JOIN dim_location AS d
  ON d.location_id = l.location_id
  AND d.valid_from <= :directory_as_of AND (d.valid_to IS NULL OR d.valid_to > :directory_as_of)
LEFT JOIN ref_local_authority AS la
  ON la.la_code = l.la_code AND la.valid_from <= :report_date AND (la.valid_to IS NULL OR la.valid_to >= :report_date)
WHERE l.report_date = :report_date AND (d.location_id IS NULL OR la.la_code IS NULL)
ORDER BY l.location_id
