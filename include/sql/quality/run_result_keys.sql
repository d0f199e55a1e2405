SELECT run_id, suite, validated_at, result_key
FROM quality_run
WHERE report_date = :report_date
ORDER BY suite, validated_at
