-- Every receipt of a feed file, in order. The same bytes received again are a new receipt (while
-- raw_delivery keeps one row per distinct file), so the newest receipt of a day decides what the
-- day is built from, even when a source reverts a correction to bytes it sent before. The
-- validators a source gave (ETag, Last-Modified) make the next check a conditional request; a
-- landing file's .sha256 sidecar is kept as declared.
CREATE TABLE delivery_receipt (
    feed VARCHAR(30) NOT NULL,
    report_date DATE NOT NULL,
    received_at TIMESTAMP NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    route VARCHAR(10) NOT NULL,
    source VARCHAR(500) NOT NULL,
    etag VARCHAR(200),
    last_modified VARCHAR(100),
    declared_sha256 VARCHAR(100),
    PRIMARY KEY (feed, report_date, received_at, sha256)
);
INSERT INTO delivery_receipt (feed, report_date, received_at, sha256, route, source)
SELECT feed, report_date, received_at, sha256, route, source FROM raw_delivery;
CREATE INDEX ix_delivery_receipt_source ON delivery_receipt (feed, report_date, source, received_at);

-- What each feed run found when it looked again at past report dates of its feed: a correction,
-- a late file, nothing new, a file it could not use, or a source it could not reach. A rerun of
-- the run's date replaces its rows. The daily quality report shows what needs attention.
CREATE TABLE source_check (
    feed VARCHAR(30) NOT NULL,
    run_date DATE NOT NULL,
    report_date DATE NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    outcome VARCHAR(20) NOT NULL,
    sha256 VARCHAR(64),
    message VARCHAR(2000),
    PRIMARY KEY (feed, run_date, report_date)
);
