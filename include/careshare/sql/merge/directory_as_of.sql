-- The directory load a report date reads: its pin; for a date never merged, the latest load (whose
-- versions in force are exactly the current ones).
SELECT COALESCE(
    (SELECT directory_as_of FROM directory_pin WHERE report_date = :report_date),
    (SELECT MAX(as_of) FROM directory_load)
) AS directory_as_of
