INSERT INTO schema_migration (name) VALUES (:name)
