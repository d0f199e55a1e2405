# The careshare platform image: Airflow's official image with the project's code and exactly the
# pinned requirements (requirements/constraints.txt) installed. docker-compose.yml builds it;
# the reference data comes from the `shared` build context (compose: additional_contexts).
FROM apache/airflow:3.3.2-python3.11

USER root
RUN mkdir -p /opt/careshare /opt/airflow/careshare && chown -R airflow:0 /opt/careshare /opt/airflow/careshare
USER airflow
WORKDIR /opt/careshare

# Requirements first, so a code change does not reinstall them. The package is installed
# editable: it finds its SQL, expectations and config folders next to its source. The simulator
# (sim/) is installed beside it for the compose service that stands in for the feeds.
COPY --chown=airflow:0 pyproject.toml ./
COPY --chown=airflow:0 requirements/constraints.txt requirements/constraints.txt
COPY --chown=airflow:0 include include
COPY --chown=airflow:0 sim sim
RUN pip install --no-cache-dir -c requirements/constraints.txt -e ".[airflow,deploy]" -e ./sim

COPY --chown=airflow:0 dags dags
COPY --chown=airflow:0 plugins plugins
COPY --chown=airflow:0 expectations expectations
COPY --chown=airflow:0 config config
COPY --from=shared --chown=airflow:0 reference/local_authorities.csv reference/local_authorities.csv

WORKDIR /opt/airflow
