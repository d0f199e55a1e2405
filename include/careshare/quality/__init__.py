"""Data quality: GX suites per feed and per published dataset (expectations/*.json), validation
runs and their records, the quarantine dataset, GX Data Docs and the daily quality report."""
