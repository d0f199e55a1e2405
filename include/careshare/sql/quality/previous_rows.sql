-- Rows checked by the latest run of a suite on the closest earlier report date within the lookback.
SELECT report_date, rows_checked
FROM quality_run
WHERE suite = :suite AND report_date < :report_date AND report_date >= :since
ORDER BY report_date DESC, validated_at DESC
LIMIT 1
