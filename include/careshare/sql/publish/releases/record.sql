-- A release is recorded once; a rerun that finds it committed records nothing new.
INSERT INTO publish_release (dataset, report_date, version, published_at, row_count, scopes, rows_added,
                             rows_removed, rows_changed, rows_unchanged, rows_lineage_only, fingerprint,
                             manifest_key, reason_kind, reason, note, changes_key)
VALUES (:dataset, :report_date, :version, :published_at, :row_count, :scopes, :rows_added,
        :rows_removed, :rows_changed, :rows_unchanged, :rows_lineage_only, :fingerprint,
        :manifest_key, :reason_kind, :reason, :note, :changes_key)
ON CONFLICT (dataset, report_date, version) DO NOTHING
