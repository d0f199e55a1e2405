"""Celery settings for careshare's workers (`[celery] celery_config_options`): Airflow's defaults,
plus the libraries the tasks use imported once, when a worker starts.

Every task runs in a process forked from its worker, so what the worker has imported the task has
too; Great Expectations alone takes seconds to import, on every quality task otherwise. DAG files
still import nothing heavy: only workers, which run tasks anyway, pay for this, and only once.
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {**DEFAULT_CELERY_CONFIG, "imports": ["careshare_airflow.worker_imports"]}
