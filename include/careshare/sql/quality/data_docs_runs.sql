-- Every validation run recorded, newest first, with how many rules caught something in it (the Data Docs).
SELECT r.run_id, r.suite, r.report_date, r.source_sha256, r.validated_at, r.success, r.rows_checked,
       r.rows_quarantined, r.result_key,
       (SELECT COUNT(*) FROM quality_rule_failure AS f WHERE f.run_id = r.run_id) AS rules_caught
FROM quality_run AS r
ORDER BY r.report_date DESC, r.validated_at DESC, r.suite
