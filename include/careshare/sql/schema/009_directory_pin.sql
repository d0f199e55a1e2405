-- The directory load each merged report date reads: the latest completed load when the date was
-- first merged. Every later merge of the date (a rerun, a correction), its checks, its published
-- datasets and its quality figures read the directory versions in force at directory_as_of, so a
-- later load changes nothing for the date until an operator re-pins it
-- (`careshare run stage merge --date D --repin-directory`).
CREATE TABLE directory_pin (
    report_date DATE PRIMARY KEY,
    directory_as_of TIMESTAMP NOT NULL,
    pinned_at TIMESTAMP NOT NULL
);
