-- The feed-day state each report date was last handed to a publish run with. A date whose feeds
-- have settled in a state not handed over yet (never, or since changed by a correction) is owed a
-- publication: the publish DAG's runs take owed dates as well as their Asset events' dates, so a
-- date survives Asset events that Airflow folds away.
CREATE TABLE publish_handoff (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    status VARCHAR(20) NOT NULL,
    sha256 VARCHAR(64),
    handed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (report_date, feed)
);
