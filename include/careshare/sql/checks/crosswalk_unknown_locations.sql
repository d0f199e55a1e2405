-- Crosswalk entries naming a location the date's pinned directory does not have.
SELECT x.line, x.feed, x.record_id, x.location_id
FROM merge_crosswalk AS x
LEFT JOIN dim_location AS d
  ON d.location_id = x.location_id
  AND d.valid_from <= :directory_as_of AND (d.valid_to IS NULL OR d.valid_to > :directory_as_of)
WHERE x.report_date = :report_date AND d.location_id IS NULL
ORDER BY x.line
