SELECT report_date, MAX(handed_at) AS handed_at
FROM publish_handoff
GROUP BY report_date
