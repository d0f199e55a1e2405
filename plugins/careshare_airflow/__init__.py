"""Airflow-specific code shared by the careshare DAGs (no imports here: see the modules)."""
