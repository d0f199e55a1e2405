-- The providers of the locations in one directory load, before they are versioned into
-- dim_provider (the table is emptied at the start of every load).
CREATE TABLE dim_provider_incoming (
    provider_id VARCHAR(20) PRIMARY KEY,
    name VARCHAR(300),
    record_sha256 VARCHAR(64) NOT NULL
);
