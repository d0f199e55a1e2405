"""Imported by each Celery worker at start (celery_config.CELERY_CONFIG), never by a DAG file: the
heavy libraries every careshare task needs, so the tasks forked from the worker start warm."""

import boto3  # noqa: F401
import great_expectations  # noqa: F401
import pandas  # noqa: F401
import pyarrow.parquet  # noqa: F401
import sqlalchemy  # noqa: F401

import careshare.resources  # noqa: F401
