-- The rules that caught something in each validation run of the report date (the Data Docs' run pages).
SELECT f.run_id, f.rule, f.severity, f.blocking, f.message
FROM quality_rule_failure AS f
JOIN quality_run AS r ON r.run_id = f.run_id
WHERE r.report_date = :report_date
