-- PostgreSQL: hold a lock on one thing (a migration, a feed's day, a merge day) until the transaction ends.
SELECT pg_advisory_xact_lock(:key)
