-- The delivery a day is now built from replaces every other usable delivery of its day (a
-- rejected one keeps its status), whichever order they arrived in.
UPDATE raw_delivery
SET status = CASE WHEN status = 'rejected' THEN status ELSE 'superseded' END, superseded_by = :sha256
WHERE feed = :feed AND report_date = :report_date AND sha256 <> :sha256
