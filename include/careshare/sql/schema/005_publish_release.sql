-- Every committed release of a published dataset: the log behind "as published on". The S3
-- manifest is the commit; this row is recorded after it (and again, harmlessly, by a rerun).
CREATE TABLE publish_release (
    dataset VARCHAR(64) NOT NULL,
    report_date DATE NOT NULL,
    version INTEGER NOT NULL,
    published_at TIMESTAMP NOT NULL,
    row_count INTEGER NOT NULL,
    scopes INTEGER NOT NULL,
    rows_added INTEGER NOT NULL,
    rows_removed INTEGER NOT NULL,
    rows_changed INTEGER NOT NULL,
    rows_unchanged INTEGER NOT NULL,
    fingerprint VARCHAR(64) NOT NULL,
    manifest_key VARCHAR(300) NOT NULL,
    PRIMARY KEY (dataset, report_date, version)
);
