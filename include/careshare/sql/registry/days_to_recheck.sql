-- The report dates of a feed to look at again: those with a file received in the recent window
-- (corrections), and those settled without usable data in the late window (a file may still come).
SELECT DISTINCT report_date FROM (
    SELECT report_date FROM raw_delivery
    WHERE feed = :feed AND report_date BETWEEN :recent_first AND :last
    UNION
    SELECT report_date FROM feed_day
    WHERE feed = :feed AND report_date BETWEEN :late_first AND :late_last
      AND status IN ('absent', 'expired', 'failed')
) AS due
ORDER BY report_date
