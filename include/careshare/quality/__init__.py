"""Data quality: GX suites per feed (expectations/*.json), validation reports, quarantine."""
