SELECT dataset, report_date, version, published_at, row_count, scopes, rows_added, rows_removed, rows_changed,
       rows_unchanged, rows_lineage_only, fingerprint, manifest_key, reason_kind, reason, note, changes_key
FROM publish_release
WHERE report_date = :report_date
ORDER BY dataset, version
