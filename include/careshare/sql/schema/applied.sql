SELECT name FROM schema_migration WHERE name = :name
