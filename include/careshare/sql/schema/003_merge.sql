-- Merge and entity resolution: match scores as double precision, the published staleness and
-- flag columns, the per-day work tables of the merge, the provider and council roll-ups, and the
-- indexes that keep a national day's merge to seconds.

-- How each staged row was tied to a CQC location (the council now comes from merge_directory_day).
CREATE TABLE stg_match_v3 (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    source_row INTEGER NOT NULL,
    location_id VARCHAR(20),
    match_method VARCHAR(20) NOT NULL,
    match_score DOUBLE PRECISION,
    PRIMARY KEY (feed, report_date, source_row)
);
INSERT INTO stg_match_v3 (report_date, feed, source_row, location_id, match_method, match_score)
SELECT report_date, feed, source_row, location_id, match_method, match_score FROM stg_match;
DROP TABLE stg_match;
ALTER TABLE stg_match_v3 RENAME TO stg_match;
CREATE INDEX ix_stg_match_day ON stg_match (report_date, location_id);

-- Matched rows of the day being merged, ranked per location (work table, emptied after the merge).
DROP TABLE merge_candidate;
CREATE TABLE merge_candidate (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    source_row INTEGER NOT NULL,
    location_id VARCHAR(20) NOT NULL,
    rank_in_location INTEGER NOT NULL,
    candidates INTEGER NOT NULL,
    PRIMARY KEY (feed, report_date, source_row)
);
CREATE INDEX ix_merge_candidate_location ON merge_candidate (report_date, location_id, rank_in_location);

-- The directory as it applies to the day being merged (work table, emptied after the merge).
CREATE TABLE merge_directory_day (
    report_date DATE NOT NULL,
    location_id VARCHAR(20) NOT NULL,
    provider_id VARCHAR(20),
    la_code VARCHAR(9),
    service_group VARCHAR(20) NOT NULL,
    expected_to_report BOOLEAN NOT NULL,
    registered BOOLEAN NOT NULL,
    deregistered BOOLEAN NOT NULL,
    expected BOOLEAN NOT NULL,
    PRIMARY KEY (report_date, location_id)
);

-- The crosswalk's manual overrides in force for the day being merged (work table).
CREATE TABLE merge_crosswalk (
    report_date DATE NOT NULL,
    feed VARCHAR(30) NOT NULL,
    record_id VARCHAR(40) NOT NULL,
    location_id VARCHAR(20) NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (report_date, feed, record_id)
);

CREATE TABLE location_daily_v3 (
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
    unexpected_reporter BOOLEAN NOT NULL,
    last_updated_at TIMESTAMP,
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
    superseded_rows INTEGER NOT NULL,
    match_method VARCHAR(20) NOT NULL,
    match_score DOUBLE PRECISION,
    PRIMARY KEY (report_date, location_id)
);
INSERT INTO location_daily_v3
SELECT
    l.report_date, l.location_id, l.la_code, l.la_name, l.region_code, l.region_name, l.provider_id,
    l.location_name, l.postcode, l.service_group, l.service_type, l.registration_status,
    l.deregistered_but_reporting,
    CASE WHEN EXISTS (
        SELECT 1 FROM dim_location AS d
        WHERE d.location_id = l.location_id AND d.valid_to IS NULL AND d.expected_to_report = FALSE
    ) THEN TRUE ELSE FALSE END,
    l.submitted_at, l.days_since_update, l.stale,
    l.beds_total, l.beds_vacant, l.accepting_admissions,
    l.people_supported, l.people_covid_confirmed, l.people_covid_suspected,
    l.people_newly_confirmed_today, l.people_newly_suspected_today,
    l.staff_employed, l.staff_absent_covid, l.staff_absent_other,
    l.staff_newly_confirmed_today, l.staff_newly_suspected_today,
    l.can_provide_more_hours, l.hours_unable_to_deliver, l.unable_to_deliver_care,
    l.covid_deaths_since_last_update,
    l.ppe_masks, l.ppe_gloves, l.ppe_aprons, l.ppe_eye_protection, l.ppe_hand_hygiene,
    l.visiting_status, l.icf_staff_single_site, l.icf_full_pay_when_isolating, l.icf_funding_received,
    l.source_feed, l.source_sha256, l.source_row, l.source_record_id,
    (SELECT COUNT(*) FROM superseded_row AS r WHERE r.report_date = l.report_date AND r.location_id = l.location_id),
    l.match_method, l.match_score
FROM location_daily AS l;
DROP TABLE location_daily;
ALTER TABLE location_daily_v3 RENAME TO location_daily;
CREATE INDEX ix_location_daily_la ON location_daily (report_date, la_code);

-- Per report date, one row per provider (scope 'provider') and per council (scope 'la'): the
-- directory's expectations and the sums of the published rows (published as provider_daily and
-- la_daily_summary).
CREATE TABLE daily_rollup (
    report_date DATE NOT NULL,
    scope VARCHAR(10) NOT NULL,
    scope_id VARCHAR(20) NOT NULL,
    locations_registered INTEGER NOT NULL DEFAULT 0,
    locations_expected INTEGER NOT NULL DEFAULT 0,
    locations_reporting INTEGER NOT NULL DEFAULT 0,
    locations_reporting_unexpected INTEGER NOT NULL DEFAULT 0,
    care_homes_expected INTEGER NOT NULL DEFAULT 0,
    care_homes_reporting INTEGER NOT NULL DEFAULT 0,
    community_services_expected INTEGER NOT NULL DEFAULT 0,
    community_services_reporting INTEGER NOT NULL DEFAULT 0,
    councils_reporting INTEGER NOT NULL DEFAULT 0,
    beds_total INTEGER,
    beds_vacant INTEGER,
    care_home_residents INTEGER,
    care_home_residents_covid_confirmed INTEGER,
    care_home_residents_covid_suspected INTEGER,
    care_home_staff_employed INTEGER,
    care_home_staff_absent_covid INTEGER,
    community_people_supported INTEGER,
    community_people_covid_confirmed INTEGER,
    community_people_covid_suspected INTEGER,
    community_staff_employed INTEGER,
    community_staff_absent_covid INTEGER,
    community_hours_unable_to_deliver INTEGER,
    locations_ppe_red INTEGER NOT NULL DEFAULT 0,
    locations_stale INTEGER NOT NULL DEFAULT 0,
    locations_deregistered_reporting INTEGER NOT NULL DEFAULT 0,
    locations_unexpected_reporter INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (report_date, scope, scope_id)
);

CREATE INDEX ix_dim_location_postcode ON dim_location (postcode, valid_to);
CREATE INDEX ix_dim_location_ods_current ON dim_location (ods_code, valid_to);
CREATE INDEX ix_stg_submission_day ON stg_submission (report_date, feed, source_row);
CREATE INDEX ix_superseded_row_day ON superseded_row (report_date, location_id);
CREATE INDEX ix_quarantine_row_day ON quarantine_row (report_date, stage)
