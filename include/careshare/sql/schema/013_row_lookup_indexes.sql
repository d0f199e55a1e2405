-- A day's rows looked up by their source row: the daily report finds what the merge made of each
-- warned row (quality/warned_rows.sql). Without these, each warned row searched every published
-- location of its date, and the date's warned rows were found by scanning those of every date.
CREATE INDEX ix_location_daily_source ON location_daily (report_date, source_feed, source_row);
CREATE INDEX ix_warned_row_day ON warned_row (report_date, feed, source_row)
