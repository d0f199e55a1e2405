-- Every GX validation run (a feed file or a published dataset of one report date), kept for the
-- daily quality report and its trends; the full GX result is stored as JSON under the quality root.
CREATE TABLE quality_run (
    run_id VARCHAR(120) PRIMARY KEY,
    suite VARCHAR(60) NOT NULL,
    report_date DATE NOT NULL,
    source_sha256 VARCHAR(64),
    validated_at TIMESTAMP NOT NULL,
    success BOOLEAN NOT NULL,
    rows_checked INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    expectations_evaluated INTEGER NOT NULL,
    expectations_failed INTEGER NOT NULL,
    result_key VARCHAR(300) NOT NULL
);
CREATE INDEX ix_quality_run_day ON quality_run (report_date, suite, validated_at);

-- One row per rule that failed in a run, with its severity and how many rows it caught.
CREATE TABLE quality_rule_failure (
    run_id VARCHAR(120) NOT NULL,
    rule VARCHAR(100) NOT NULL,
    severity VARCHAR(10) NOT NULL,
    blocking BOOLEAN NOT NULL,
    rows_failing INTEGER,
    percent_failing REAL,
    message VARCHAR(2000) NOT NULL,
    PRIMARY KEY (run_id, rule)
)
