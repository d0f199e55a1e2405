# The careshare platform image: Airflow's official image with the project's code and exactly the
# pinned requirements (requirements/constraints.txt) installed. docker-compose.yml builds it.
FROM apache/airflow:3.3.2-python3.11

USER root
RUN mkdir -p /opt/careshare /opt/airflow/careshare && chown -R airflow:0 /opt/careshare /opt/airflow/careshare
USER airflow
WORKDIR /opt/careshare

# The package and its pinned requirements before the DAGs and plugins, so that a DAG change does not
# reinstall them. The package is installed as a wheel would be, not editable: its SQL, GX suites,
# council reference and default configuration are package data (include/careshare/sql,
# expectations, data), so nothing reads the source tree. The simulator (sim/, not the product) is
# installed beside it for the compose service that stands in for the feeds.
COPY --chown=airflow:0 pyproject.toml ./
COPY --chown=airflow:0 requirements/constraints.txt requirements/constraints.txt
COPY --chown=airflow:0 include include
COPY --chown=airflow:0 sim sim
RUN pip install --no-cache-dir -c requirements/constraints.txt ".[airflow,deploy]" -e ./sim

COPY --chown=airflow:0 dags dags
COPY --chown=airflow:0 plugins plugins

WORKDIR /opt/airflow
