SELECT name FROM schema_migration
