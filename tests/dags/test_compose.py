"""docker-compose.yml and the Dockerfile, checked without a Docker engine: every service of the
stack is there, every image is pinned, every environment variable set is one that the code, Airflow
or the service's image reads, every connection the DAGs use is provided, secrets come from .env,
the image installs the project (not editable) and the simulator with the pinned constraints, and it
builds from the repository alone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
CONSTRAINTS = REPO_ROOT / "requirements" / "constraints.txt"

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
REQUIRED_SERVICES = AIRFLOW_SERVICES | {
    "postgres",
    "redis",
    "minio",
    "minio-setup",
    "careshare-simulator",
    "careshare-sharing",
}

# Variables read by a service's image itself rather than by our code or Airflow's configuration.
IMAGE_VARIABLES = {
    "postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"},  # the postgres image's initdb
    "minio/minio": {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "MINIO_SITE_REGION"},  # MinIO server settings
    "minio/mc": {"MC_HOST_careshare"},  # mc's alias-from-environment, MC_HOST_<alias>
    # the apache/airflow entrypoint: migrate, create the admin user; dumb-init's signal handling
    "apache/airflow": {
        "_AIRFLOW_DB_MIGRATE",
        "_AIRFLOW_WWW_USER_CREATE",
        "_AIRFLOW_WWW_USER_USERNAME",
        "_AIRFLOW_WWW_USER_PASSWORD",
        "DUMB_INIT_SETSID",
    },
}
# boto3's own credentials and region: how the `careshare` command line's S3 client gets them (cli/environment.py).
BOTO3_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$")
REQUIRED_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+):\?\}")
ANY_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    return {name: str(value) for name, value in (service.get("environment") or {}).items()}


def image_family(service: dict) -> str:
    """The image a service runs, without its tag: ours counts as apache/airflow (it is built FROM it)."""
    if "build" in service:
        return "apache/airflow"
    return service["image"].rsplit(":", 1)[0]


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        name, _, version = line.partition("==")
        pins[normalise(name)] = version
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_service_of_the_stack_is_there(services):
    assert set(services) >= REQUIRED_SERVICES
    for name in AIRFLOW_SERVICES:
        assert environment(services[name])["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
    commands = {name: services[name].get("command") for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
        "airflow-worker": "celery worker",
    }
    assert services["careshare-simulator"]["entrypoint"] == ["careshare-sim", "serve"]


def test_the_simulator_runs_the_simulator_package_command(services):
    from careshare_sim.cli import build_parser

    service = services["careshare-simulator"]
    program, *arguments = [*service["entrypoint"], *service["command"]]
    scripts = tomllib.loads((REPO_ROOT / "sim" / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[program] == "careshare_sim.cli:main"
    parsed = build_parser().parse_args(arguments)
    assert (parsed.command, parsed.host, parsed.port) == ("serve", "0.0.0.0", 8080)


def test_every_image_is_pinned(services):
    project_version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in services.items():
        image = service["image"]
        assert "$" not in image, f"{name}: the image must not depend on the environment"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        assert not re.fullmatch(r"\d+(\.\d+)?", tag), f"{name}: {image} is pinned to a moving major/minor tag"
        if "build" in service:
            assert tag == project_version, f"{name}: the built image is tagged with the project's version"
    from_lines = [line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("FROM ")]
    assert from_lines == [f"apache/airflow:{constraint_pins()['apache-airflow']}-python3.11"]


def test_the_image_installs_the_project_with_the_pinned_constraints():
    dockerfile = DOCKERFILE.read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert len(installs) == 1
    assert "-c requirements/constraints.txt" in installs[0]
    assert "COPY --chown=airflow:0 requirements/constraints.txt requirements/constraints.txt" in dockerfile
    assert "COPY --chown=airflow:0 sim sim" in dockerfile and installs[0].endswith(" -e ./sim")
    package = re.search(r'(?<!-e )"\.\[([a-z,]+)\]"', installs[0])
    assert package, "the image installs the package as a wheel would, not an editable source tree"
    extras = package.group(1).split(",")
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = constraint_pins()
    for extra in extras:
        for requirement in declared[extra]:
            assert normalise(requirement) in pins, f"{requirement} (extra {extra}) has no pin in constraints.txt"


def test_the_image_builds_from_the_repository_alone(compose, services):
    """No build context beside the repository: the council reference, SQL, suites and configuration
    are package data, and no service points the platform at a copy of its own."""
    assert "COPY --from" not in DOCKERFILE.read_text()
    builds = [compose["x-airflow-common"]["build"], *(s["build"] for s in services.values() if "build" in s)]
    assert all(build == {"context": "."} for build in builds), builds
    packaged = {"CARESHARE_REFERENCE_CSV", "CARESHARE_EXPECTATIONS_DIR", "CARESHARE_CROSSWALK_CSV"}
    for name, service in services.items():
        assert not packaged & set(environment(service)), (
            f"{name} overrides the packaged {packaged & set(environment(service))}"
        )


def test_the_image_has_every_path_the_stack_points_at(services):
    """DAGs and plugins are where the environment says they are."""
    copied = [line.split()[-1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY ")]
    in_image = {str(Path("/opt/careshare") / target) for target in copied}
    for name, service in services.items():
        for variable, value in environment(service).items():
            if value.startswith("/opt/careshare/"):
                assert value in in_image, f"{name}: {variable}={value} is not in the image"


def airflow_options() -> dict[str, list[str]]:
    """Every [section] option Airflow and its installed providers define, from a clean process:
    importing Airflow here would configure it for the rest of the test session."""
    script = (
        "import json; from airflow.configuration import conf; "
        "print(json.dumps({s: list(conf.get_options_including_defaults(s)) "
        "for s in conf.get_sections_including_defaults()}))"
    )
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"careshare-compose-airflow-{os.getpid()}"
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PATH": os.environ["PATH"], "HOME": str(home), "AIRFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def names_read_by_the_code() -> set[str]:
    sources = [path for folder in ("include", "plugins", "sim") for path in (REPO_ROOT / folder).rglob("*.py")]
    text = "\n".join(path.read_text() for path in sources)
    return set(re.findall(r'"(CARESHARE_[A-Z0-9_]+)"', text))


def platform_connection_ids() -> set[str]:
    """The connection ids the DAGs read (Airflow puts the plugins folder on the path; so do we)."""
    if str(REPO_ROOT / "plugins") not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / "plugins"))
    from careshare_airflow import runtime

    return {runtime.FEEDS_CONN_ID, runtime.DIRECTORY_CONN_ID, runtime.S3_CONN_ID}


def test_every_environment_variable_set_is_read_by_someone(services):
    options = airflow_options()
    read_by_code = names_read_by_the_code()
    connections = platform_connection_ids()
    for name, service in services.items():
        for variable in environment(service):
            if variable.startswith("AIRFLOW__"):
                section, _, key = variable.removeprefix("AIRFLOW__").lower().partition("__")
                assert key in options.get(section, []), f"{name}: Airflow has no option [{section}] {key}"
            elif variable.startswith("AIRFLOW_CONN_"):
                conn_id = variable.removeprefix("AIRFLOW_CONN_").lower()
                assert conn_id in connections, f"{name}: no DAG uses the connection {conn_id}"
            elif variable.startswith("CARESHARE_"):
                assert variable in read_by_code, f"{name}: the code never reads {variable}"
            elif f"$${variable}" in shell_of(service):
                continue  # read by the service's own command line
            elif variable in BOTO3_VARIABLES and runs_the_careshare_cli(service):
                continue
            else:
                assert variable in IMAGE_VARIABLES.get(image_family(service), set()), (
                    f"{name}: nothing in {service['image']} reads {variable}"
                )


def shell_of(service: dict) -> str:
    return " ".join(str(part) for part in [*service.get("entrypoint", []), *service.get("command", [])])


def runs_the_careshare_cli(service: dict) -> bool:
    return "build" in service and "careshare" in shell_of(service).split()


def test_the_sharing_server_runs_our_command_reads_the_publication_and_has_a_health_check(services):
    from careshare.cli import build_parser

    sharing, worker = environment(services["careshare-sharing"]), environment(services["airflow-worker"])
    service = services["careshare-sharing"]
    assert (
        service["image"] == services["airflow-worker"]["image"]
        and service["build"] == services["airflow-worker"]["build"]
    )
    command = service["command"]
    assert command == ["careshare", "share", "serve", "--host", "0.0.0.0", "--port", "8090"]
    parsed = build_parser().parse_args(command[1:])
    assert (parsed.group, parsed.command, parsed.port) == ("share", "serve", 8090)
    assert "8090:8090" in service["ports"]
    assert "http://localhost:8090/health" in service["healthcheck"]["test"]
    for shared in ("CARESHARE_WAREHOUSE_URL", "CARESHARE_PUBLISH_URI"):
        assert sharing[shared] == worker[shared], shared
    assert not [name for name in sharing if name.startswith("AIRFLOW")], "no Airflow configuration or connections"
    assert urlsplit(sharing["CARESHARE_SHARING_ENDPOINT"]).path == "/delta-sharing"


def test_the_sharing_server_has_its_own_read_only_keys(services):
    sharing, setup = environment(services["careshare-sharing"]), services["minio-setup"]
    assert sharing["AWS_ACCESS_KEY_ID"] == setup["environment"]["SHARING_USER"] == "${CARESHARE_SHARING_ACCESS_KEY:?}"
    assert sharing["AWS_SECRET_ACCESS_KEY"] == setup["environment"]["SHARING_SECRET"]
    policy = json.loads(setup["environment"]["SHARING_POLICY"])
    (statement,) = policy["Statement"]
    assert set(statement["Action"]) == {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}
    bucket = "arn:aws:s3:::${CARESHARE_PUBLISH_BUCKET:-careshare-published}"
    assert statement["Resource"] == [bucket, f"{bucket}/*"]
    assert 'mc admin policy attach careshare careshare-sharing --user "$$SHARING_USER"' in shell_of(setup)


def test_the_raw_archive_bucket_is_versioned(services):
    setup = services["minio-setup"]
    assert setup["environment"]["RAW_BUCKET"] == "careshare/${CARESHARE_RAW_BUCKET:-careshare-raw}"
    assert 'mc version enable "$$RAW_BUCKET"' in shell_of(setup)
    made = re.search(r"mc mb (.*?)&&", shell_of(setup)).group(1)
    assert all(f'"$${bucket}"' in made for bucket in ("RAW_BUCKET", "PUBLISH_BUCKET", "QUALITY_BUCKET"))


def test_every_airflow_service_has_the_platform_connections_and_a_shared_configuration(services):
    connections = {f"AIRFLOW_CONN_{conn_id.upper()}" for conn_id in platform_connection_ids()}
    shared = {"AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"}
    reference = environment(services["airflow-scheduler"])
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        assert connections <= set(env), f"{name} lacks {connections - set(env)}"
        assert {variable: env[variable] for variable in shared} == {v: reference[v] for v in shared}, name


def test_the_workers_reach_the_execution_api_on_the_api_server(services):
    url = urlsplit(environment(services["airflow-worker"])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == "airflow-apiserver" and url.path == "/execution/"
    assert f"{url.port}:{url.port}" in services["airflow-apiserver"]["ports"]
    for connection in ("AIRFLOW_CONN_CARESHARE_FEEDS", "AIRFLOW_CONN_CARESHARE_CQC_DIRECTORY"):
        host = urlsplit(json.loads(environment(services["airflow-worker"])[connection])["host"])
        assert host.hostname == "careshare-simulator"
        assert str(host.port) in services["careshare-simulator"]["command"]


def test_secrets_come_from_the_env_file_only():
    text = COMPOSE.read_text()
    compose = yaml.safe_load(text)
    for name, service in compose["services"].items():
        for variable, value in environment(service).items():
            if SECRET_NAME.search(variable):
                assert REQUIRED_VARIABLE.fullmatch(value), f"{name}: {variable} must be ${{VAR:?}} from .env"
    required = set(REQUIRED_VARIABLE.findall(text))
    documented = {line.split("=")[0].lstrip("# ") for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line}
    assert required <= documented, f".env.example does not list {required - documented}"
    assert set(ANY_VARIABLE.findall(text)) <= documented, "every variable the file reads is in .env.example"


def test_only_the_s3_connection_changes_for_real_aws(services):
    """Switching to AWS S3 is one .env variable: the connection's value, MinIO its default."""
    value = environment(services["airflow-worker"])["AIRFLOW_CONN_CARESHARE_S3"]
    assert value.startswith("${CARESHARE_S3_CONNECTION:-aws://")
    assert "endpoint_url=http%3A%2F%2Fminio%3A9000" in value
    others = {k: v for k, v in environment(services["airflow-worker"]).items() if "minio" in v}
    assert set(others) == {"AIRFLOW_CONN_CARESHARE_S3"}, "only the S3 connection may name MinIO"


def test_every_project_module_the_configuration_names_exists(services):
    for name, service in services.items():
        for variable, value in environment(service).items():
            if value.startswith("careshare_airflow."):
                module, _, attribute = value.rpartition(".")
                path = REPO_ROOT / "plugins" / f"{module.replace('.', '/')}.py"
                assert path.exists(), f"{name}: {variable} names {module}, which is not in plugins/"
                assert re.search(rf"^{attribute} = ", path.read_text(), re.MULTILINE), f"{name}: {value}"


def test_the_init_service_migrates_the_warehouse_the_workers_use(services):
    """Tasks never change the warehouse's schema: the one-shot init service migrates it first."""
    init = services["airflow-init"]
    script = init["command"][-1]
    assert "careshare db migrate" in script
    assert script.index("airflow version") < script.index("careshare db migrate")  # the metadata first
    warehouse = environment(init)["CARESHARE_WAREHOUSE_URL"]
    assert warehouse == environment(services["airflow-worker"])["CARESHARE_WAREHOUSE_URL"]
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully", name
