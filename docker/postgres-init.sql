-- Runs once, when the PostgreSQL volume is first created: the careshare warehouse lives next to
-- Airflow's metadata database, owned by the same role (POSTGRES_USER).
CREATE DATABASE careshare;
