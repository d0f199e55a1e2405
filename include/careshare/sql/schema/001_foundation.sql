-- Reference: councils and, per council name as the CQC directory spells it today, the ONS code
-- valid in each period (a reorganised area maps to its predecessor before the change).
CREATE TABLE ref_local_authority (
    la_code VARCHAR(9) PRIMARY KEY,
    la_name VARCHAR(200) NOT NULL,
    region_code VARCHAR(9) NOT NULL,
    region_name VARCHAR(100) NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    replaces VARCHAR(9)
);

CREATE TABLE ref_la_name_period (
    la_name_key VARCHAR(200) NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE NOT NULL,
    la_code VARCHAR(9) NOT NULL,
    PRIMARY KEY (la_name_key, valid_from)
);

-- The CQC directory with history: one row per version of a location's record.
CREATE TABLE dim_location (
    location_id VARCHAR(20) NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_to TIMESTAMP,
    provider_id VARCHAR(20),
    name VARCHAR(300),
    ods_code VARCHAR(20),
    postcode VARCHAR(10),
    la_name VARCHAR(200),
    la_name_key VARCHAR(200),
    region VARCHAR(100),
    registration_status VARCHAR(20),
    registration_date DATE,
    deregistration_date DATE,
    care_home VARCHAR(1),
    number_of_beds INTEGER,
    service_types VARCHAR(500),
    expected_to_report BOOLEAN NOT NULL,
    record_sha256 VARCHAR(64) NOT NULL,
    PRIMARY KEY (location_id, valid_from)
);
CREATE INDEX ix_dim_location_current ON dim_location (valid_to, location_id);
CREATE INDEX ix_dim_location_ods ON dim_location (ods_code);

-- The directory snapshot being loaded; compared with the current versions above.
CREATE TABLE dim_location_incoming (
    location_id VARCHAR(20) PRIMARY KEY,
    provider_id VARCHAR(20),
    name VARCHAR(300),
    ods_code VARCHAR(20),
    postcode VARCHAR(10),
    la_name VARCHAR(200),
    la_name_key VARCHAR(200),
    region VARCHAR(100),
    registration_status VARCHAR(20),
    registration_date DATE,
    deregistration_date DATE,
    care_home VARCHAR(1),
    number_of_beds INTEGER,
    service_types VARCHAR(500),
    expected_to_report BOOLEAN NOT NULL,
    record_sha256 VARCHAR(64) NOT NULL
);

CREATE TABLE directory_load (
    as_of TIMESTAMP PRIMARY KEY,
    mode VARCHAR(10) NOT NULL,
    locations_fetched INTEGER NOT NULL,
    versions_added INTEGER NOT NULL,
    completed_at TIMESTAMP NOT NULL
);

CREATE TABLE dim_provider (
    provider_id VARCHAR(20) NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_to TIMESTAMP,
    name VARCHAR(300),
    record_sha256 VARCHAR(64) NOT NULL,
    PRIMARY KEY (provider_id, valid_from)
);

-- Every delivery ever received, by content; nothing is deleted.
CREATE TABLE raw_delivery (
    feed VARCHAR(30) NOT NULL,
    report_date DATE NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    bytes INTEGER NOT NULL,
    route VARCHAR(10) NOT NULL,
    source VARCHAR(500) NOT NULL,
    archive_uri VARCHAR(500) NOT NULL,
    received_at TIMESTAMP NOT NULL,
    status VARCHAR(20) NOT NULL,
    rows_delivered INTEGER,
    superseded_by VARCHAR(64),
    message VARCHAR(2000),
    PRIMARY KEY (feed, report_date, sha256)
);

-- Where each feed stands for each report date.
CREATE TABLE feed_day (
    feed VARCHAR(30) NOT NULL,
    report_date DATE NOT NULL,
    status VARCHAR(20) NOT NULL,
    sha256 VARCHAR(64),
    rows_delivered INTEGER,
    rows_quarantined INTEGER,
    rows_staged INTEGER,
    rule VARCHAR(100),
    message VARCHAR(2000),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (feed, report_date)
);

-- Conformed rows of the current delivery of each feed and day (replaced as a whole).
CREATE TABLE stg_submission (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    source_sha256 VARCHAR(64) NOT NULL,
    source_row INTEGER NOT NULL,
    record_id VARCHAR(40),
    cqc_location_id VARCHAR(40),
    cqc_location_id_raw VARCHAR(100),
    ods_code VARCHAR(40),
    provider_id VARCHAR(40),
    name VARCHAR(500),
    postcode VARCHAR(40),
    la_name_reported VARCHAR(200),
    service_group VARCHAR(20) NOT NULL,
    service_type VARCHAR(40),
    submitted_at TIMESTAMP,
    days_since_update INTEGER,
    beds_total INTEGER,
    beds_vacant INTEGER,
    people_supported INTEGER,
    people_covid_confirmed INTEGER,
    people_covid_suspected INTEGER,
    people_newly_confirmed_today INTEGER,
    people_newly_suspected_today INTEGER,
    staff_employed INTEGER,
    staff_absent_covid INTEGER,
    staff_absent_other INTEGER,
    staff_newly_confirmed_today INTEGER,
    staff_newly_suspected_today INTEGER,
    hours_unable_to_deliver INTEGER,
    covid_deaths_since_last_update INTEGER,
    accepting_admissions VARCHAR(20),
    can_provide_more_hours VARCHAR(20),
    unable_to_deliver_care VARCHAR(20),
    ppe_masks VARCHAR(20),
    ppe_gloves VARCHAR(20),
    ppe_aprons VARCHAR(20),
    ppe_eye_protection VARCHAR(20),
    ppe_hand_hygiene VARCHAR(20),
    visiting_status VARCHAR(20),
    icf_staff_single_site VARCHAR(20),
    icf_full_pay_when_isolating VARCHAR(20),
    icf_funding_received VARCHAR(20),
    extra_columns VARCHAR(4000),
    PRIMARY KEY (feed, report_date, source_row)
);

-- Rows held back, one row per row and rule, with the offending value and the raw record.
CREATE TABLE quarantine_row (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    source_sha256 VARCHAR(64) NOT NULL,
    source_row INTEGER NOT NULL,
    stage VARCHAR(20) NOT NULL,
    rule VARCHAR(100) NOT NULL,
    column_name VARCHAR(100) NOT NULL,
    severity VARCHAR(10) NOT NULL,
    value VARCHAR(1000),
    message VARCHAR(2000) NOT NULL,
    raw_record VARCHAR(8000),
    location_id VARCHAR(20),
    PRIMARY KEY (feed, report_date, source_row, rule, column_name)
);

-- How each staged row was tied to a CQC location.
CREATE TABLE stg_match (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    source_row INTEGER NOT NULL,
    location_id VARCHAR(20),
    la_code VARCHAR(9),
    match_method VARCHAR(20) NOT NULL,
    match_score REAL,
    PRIMARY KEY (feed, report_date, source_row)
);

-- Matched rows of one report date, ranked per location (work table of the merge).
CREATE TABLE merge_candidate (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    source_row INTEGER NOT NULL,
    location_id VARCHAR(20) NOT NULL,
    rank_in_location INTEGER NOT NULL,
    PRIMARY KEY (feed, report_date, source_row)
);

CREATE TABLE superseded_row (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    source_sha256 VARCHAR(64) NOT NULL,
    source_row INTEGER NOT NULL,
    location_id VARCHAR(20) NOT NULL,
    winner_feed VARCHAR(30) NOT NULL,
    winner_sha256 VARCHAR(64) NOT NULL,
    winner_source_row INTEGER NOT NULL,
    reason VARCHAR(100) NOT NULL,
    PRIMARY KEY (feed, report_date, source_row)
);

CREATE TABLE location_daily (
    report_date DATE NOT NULL,
    location_id VARCHAR(20) NOT NULL,
    la_code VARCHAR(9) NOT NULL,
    la_name VARCHAR(200) NOT NULL,
    region_code VARCHAR(9) NOT NULL,
    region_name VARCHAR(100) NOT NULL,
    provider_id VARCHAR(20),
    location_name VARCHAR(300),
    postcode VARCHAR(10),
    service_group VARCHAR(20) NOT NULL,
    service_type VARCHAR(40),
    registration_status VARCHAR(20),
    deregistered_but_reporting BOOLEAN NOT NULL,
    submitted_at TIMESTAMP,
    days_since_update INTEGER,
    stale BOOLEAN NOT NULL,
    beds_total INTEGER,
    beds_vacant INTEGER,
    accepting_admissions VARCHAR(20),
    people_supported INTEGER,
    people_covid_confirmed INTEGER,
    people_covid_suspected INTEGER,
    people_newly_confirmed_today INTEGER,
    people_newly_suspected_today INTEGER,
    staff_employed INTEGER,
    staff_absent_covid INTEGER,
    staff_absent_other INTEGER,
    staff_newly_confirmed_today INTEGER,
    staff_newly_suspected_today INTEGER,
    can_provide_more_hours VARCHAR(20),
    hours_unable_to_deliver INTEGER,
    unable_to_deliver_care VARCHAR(20),
    covid_deaths_since_last_update INTEGER,
    ppe_masks VARCHAR(20),
    ppe_gloves VARCHAR(20),
    ppe_aprons VARCHAR(20),
    ppe_eye_protection VARCHAR(20),
    ppe_hand_hygiene VARCHAR(20),
    visiting_status VARCHAR(20),
    icf_staff_single_site VARCHAR(20),
    icf_full_pay_when_isolating VARCHAR(20),
    icf_funding_received VARCHAR(20),
    source_feed VARCHAR(30) NOT NULL,
    source_sha256 VARCHAR(64) NOT NULL,
    source_row INTEGER NOT NULL,
    source_record_id VARCHAR(40),
    match_method VARCHAR(20) NOT NULL,
    match_score REAL,
    PRIMARY KEY (report_date, location_id)
);
CREATE INDEX ix_location_daily_la ON location_daily (report_date, la_code);
