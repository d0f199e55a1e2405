-- Why each release was made and what it was published from (its manifest says the same): the
-- reason (first release, a feed's delivery, an operator's rerun with a note, a rebuild with no
-- feed changed), rows that differ only in lineage (counted apart from changed rows), the key of
-- the list of every changed key, and per feed the state and file the release was built from.
ALTER TABLE publish_release ADD COLUMN rows_lineage_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE publish_release ADD COLUMN reason_kind VARCHAR(20);
ALTER TABLE publish_release ADD COLUMN reason VARCHAR(2000);
ALTER TABLE publish_release ADD COLUMN note VARCHAR(500);
ALTER TABLE publish_release ADD COLUMN changes_key VARCHAR(300);
CREATE TABLE publish_release_input (
    dataset VARCHAR(64) NOT NULL,
    report_date DATE NOT NULL,
    version INTEGER NOT NULL,
    feed VARCHAR(30) NOT NULL,
    status VARCHAR(20) NOT NULL,
    sha256 VARCHAR(64),
    received_at TIMESTAMP,
    caused BOOLEAN NOT NULL,
    PRIMARY KEY (dataset, report_date, version, feed)
);
