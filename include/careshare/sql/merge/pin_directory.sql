-- A date merged for the first time is pinned to the latest completed directory load; a pinned date
-- keeps its pin. No load yet, no pin.
INSERT INTO directory_pin (report_date, directory_as_of, pinned_at)
SELECT :report_date, l.as_of, :pinned_at
FROM directory_load AS l
WHERE l.as_of = (SELECT MAX(as_of) FROM directory_load)
  AND NOT EXISTS (SELECT 1 FROM directory_pin AS pin WHERE pin.report_date = :report_date)
