-- Rows delivered and quarantined per report date, counting only each feed's current delivery.
SELECT f.report_date,
       SUM(f.rows_delivered) AS delivered,
       SUM((SELECT COUNT(DISTINCT q.source_row) FROM quarantine_row AS q
            WHERE q.feed = f.feed AND q.report_date = f.report_date AND q.source_sha256 = f.sha256)) AS quarantined
FROM feed_day AS f
WHERE f.report_date BETWEEN :first_date AND :report_date AND f.status IN ('loaded', 'failed')
GROUP BY f.report_date
