-- Report dates whose feeds changed (a first load, a correction, a failure) after the date was
-- last checked for publication, or that never were: what a publish run owes besides the dates
-- its triggering events name (Airflow can merge queued Asset events into one run).
SELECT fd.report_date
FROM feed_day AS fd
WHERE fd.updated_at >= :since
GROUP BY fd.report_date
HAVING MAX(fd.updated_at) > COALESCE(
    (SELECT MAX(q.validated_at) FROM quality_run AS q
     WHERE q.report_date = fd.report_date AND q.suite = 'location_daily'),
    :never
)
ORDER BY fd.report_date
