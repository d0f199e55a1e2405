-- Rows staged, and so published unless another row of their location wins, although they failed a
-- warning rule of their feed's suite: one row per row, rule and column of a feed day's loaded
-- delivery, replaced when the day is loaded again. The location is the merge's (location_daily,
-- superseded_row), read with them.
CREATE TABLE warned_row (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    source_sha256 VARCHAR(64) NOT NULL,
    source_row INTEGER NOT NULL,
    rule VARCHAR(100) NOT NULL,
    column_name VARCHAR(100) NOT NULL,
    value VARCHAR(1000),
    message VARCHAR(2000) NOT NULL,
    PRIMARY KEY (feed, report_date, source_row, rule, column_name)
)
