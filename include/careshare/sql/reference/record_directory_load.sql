INSERT INTO directory_load (as_of, mode, locations_fetched, versions_added, completed_at)
VALUES (:as_of, :mode, :locations_fetched, :versions_added, :completed_at)
ON CONFLICT (as_of) DO UPDATE SET
    mode = excluded.mode,
    locations_fetched = excluded.locations_fetched,
    versions_added = excluded.versions_added,
    completed_at = excluded.completed_at
