-- The work rows of a merged day are not kept: the day's outcome lives in the tables above them.
DELETE FROM merge_candidate WHERE report_date = :report_date;
DELETE FROM merge_directory_day WHERE report_date = :report_date;
DELETE FROM merge_crosswalk WHERE report_date = :report_date
