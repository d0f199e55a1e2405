-- The latest validation run of each suite for the report date, with the rules that failed in it.
SELECT r.suite, r.run_id, r.source_sha256, r.validated_at, r.success, r.rows_checked, r.rows_quarantined,
       r.expectations_evaluated, r.expectations_failed, r.result_key,
       f.rule, f.severity, f.blocking, f.rows_failing, f.percent_failing, f.message
FROM quality_run AS r
LEFT JOIN quality_rule_failure AS f ON f.run_id = r.run_id
WHERE r.report_date = :report_date
  AND r.validated_at = (
      SELECT MAX(x.validated_at) FROM quality_run AS x
      WHERE x.suite = r.suite AND x.report_date = r.report_date
  )
ORDER BY r.suite, f.rule
