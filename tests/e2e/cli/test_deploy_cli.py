"""dolmen deploy compose / kubernetes on the shop split into three units, as a user runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.dolmen_runner import dolmen, env_for
from tests.schemas import COMPOSE_SCHEMAS, compose_errors, kubernetes_errors

UNITS_SECRET = "units-secret-" + "s" * 32
GATEWAY_KEY = "sk-live-gateway-9876"
DATABASE_PASSWORD = "pg-pass-4321"
BROKER_URLS = {
    "database": "",
    "rabbitmq": 'broker_url = "amqp://guest:guest@mq.internal:5672/"\n',
    "nats": 'broker_url = "nats://nats.internal:4222"\n',
    "redis": 'broker_url = "redis://redis.internal:6379/0"\n',
}
DATABASES = {
    "postgresql": f"postgresql://shop:{DATABASE_PASSWORD}@db.internal:5432/shop",
    "sqlite": "sqlite:///./var/shop.db",
}


def _project(folder: Path, transport: str, units: str | None = None) -> Path:
    """The shop, its production split into storefront (catalog, orders), billing, notifications."""
    (folder / "myshop.py").write_text(
        "from pathlib import Path\n"
        "from shop.app import create_app\n"
        "app = create_app()\n"
        "app.config_dir = Path(__file__).parent / 'config'\n"
    )
    (folder / "config").mkdir()
    (folder / "config" / "dolmen.toml").write_text('[billing]\ncharge_limit = "50.00"\n')
    (folder / "config" / "dolmen.prod.toml").write_text(
        units
        or (
            f'[units]\ntransport = "{transport}"\n{BROKER_URLS[transport]}\n'
            '[units.unit.storefront]\nmodules = ["catalog", "orders"]\n\n'
            '[units.unit.billing]\nmodules = ["billing"]\nreplicas = 2\n\n'
            '[units.unit.notifications]\nmodules = ["notifications"]\n'
        )
    )
    return folder


def _env(project: Path, database: str) -> dict[str, str]:
    """Secrets in this machine's environment, as a deploying user may have them."""
    return env_for(
        project,
        DOLMEN_DATABASE_URL=DATABASES[database],
        DOLMEN__UNITS__SECRET=UNITS_SECRET,
        DOLMEN__BILLING__GATEWAY_API_KEY=GATEWAY_KEY,
    )


def _no_secret_in(text: str) -> None:
    for secret in (UNITS_SECRET, GATEWAY_KEY, DATABASE_PASSWORD):
        assert secret not in text


@pytest.mark.parametrize(
    ("transport", "database"),
    [
        ("database", "sqlite"),
        ("rabbitmq", "postgresql"),
        ("nats", "sqlite"),
        ("redis", "postgresql"),
    ],
)  # every transport, and both databases (tests/unit/units/test_deploy.py has each pair)
def test_compose_writes_a_valid_compose_file_without_secrets(
    tmp_path: Path, transport: str, database: str
) -> None:
    project = _project(tmp_path, transport)

    result = dolmen(
        "deploy", "compose", "myshop:app", "--env", "prod", "--build", ".",
        "--output", "compose.yaml", cwd=project, env=_env(project, database),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "wrote compose.yaml"
    text = (project / "compose.yaml").read_text()
    document = yaml.safe_load(text)
    for schema in COMPOSE_SCHEMAS:
        assert compose_errors(document, schema) == []
    _no_secret_in(text + result.stdout + result.stderr)
    services = document["services"]
    assert services["billing"]["command"] == [
        "dolmen", "run", "myshop:app", "--unit", "billing", "--host", "0.0.0.0", "--port", "8000",
    ]  # fmt: skip
    assert services["billing"]["deploy"] == {"replicas": 2}
    assert services["billing"]["build"] == {"context": "."}
    assert ("postgres" in services) is (database == "postgresql")
    assert (transport in services) is (transport != "database")
    # The units call each other nowhere, but the secret is set: they get it, from a file.
    assert document["secrets"] == {"units__secret": {"file": "./secrets/units__secret"}}


def test_compose_prints_to_standard_output_the_same_bytes_every_time(tmp_path: Path) -> None:
    project = _project(tmp_path, "nats")
    env = _env(project, "postgresql")

    first = dolmen("deploy", "compose", "myshop:app", "--env", "prod", cwd=project, env=env)
    second = dolmen("deploy", "compose", "myshop:app", "--env", "prod", cwd=project, env=env)

    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stdout.startswith("# Docker Compose file of shop, environment 'prod'")
    assert 'image: "shop:latest"' in first.stdout


@pytest.mark.parametrize("transport", ["database", "rabbitmq", "nats", "redis"])
def test_kubernetes_writes_valid_manifests_without_secrets(tmp_path: Path, transport: str) -> None:
    project = _project(tmp_path, transport)

    result = dolmen(
        "deploy", "kubernetes", "myshop:app", "--env", "prod", "--image", "shop:1.0",
        "--namespace", "shop", "--output", "k8s", cwd=project, env=_env(project, "postgresql"),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in (project / "k8s").iterdir())
    assert files == [
        "configmap.yaml",
        "shop-billing-deployment.yaml", "shop-billing-service.yaml",
        "shop-notifications-deployment.yaml", "shop-notifications-service.yaml",
        "shop-storefront-deployment.yaml", "shop-storefront-service.yaml",
    ]  # fmt: skip
    for name in files:
        text = (project / "k8s" / name).read_text()
        _no_secret_in(text)
        resource = yaml.safe_load(text)
        assert kubernetes_errors(resource) == []
        assert resource["metadata"]["namespace"] == "shop"
    _no_secret_in(result.stdout + result.stderr)
    deployment = yaml.safe_load((project / "k8s" / "shop-billing-deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert container["image"] == "shop:1.0"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_kubernetes_to_standard_output_is_one_stream_of_documents(tmp_path: Path) -> None:
    project = _project(tmp_path, "redis")

    result = dolmen(
        "deploy", "kubernetes", "myshop:app", "--env", "prod", cwd=project,
        env=_env(project, "postgresql"),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    resources = list(yaml.safe_load_all(result.stdout))
    assert [r["kind"] for r in resources] == ["ConfigMap"] + ["Deployment", "Service"] * 3
    assert all(kubernetes_errors(r) == [] for r in resources)
    assert "kubectl create secret generic shop-secrets" in result.stdout


def test_a_bad_topology_exits_2_with_each_problem(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        "rabbitmq",
        units='[units]\n[units.unit.storefront]\nmodules = ["catalog", "order"]\n\n'
        '[units.unit.rest]\nmodules = ["billing", "notifications"]\n',
    )

    result = dolmen("deploy", "compose", "myshop:app", "--env", "prod", cwd=project,
                    env=_env(project, "sqlite"))  # fmt: skip

    assert result.returncode == 2
    assert result.stdout == ""
    assert "unit 'storefront' lists module 'order', which the app does not have" in result.stderr
    assert "(did you mean 'orders'?)" in result.stderr
    assert "'orders' is in no unit" in result.stderr


def test_a_configuration_problem_exits_2(tmp_path: Path) -> None:
    project = _project(tmp_path, "nats", units='[units]\ntransport = "kafka"\n')

    result = dolmen("deploy", "kubernetes", "myshop:app", "--env", "prod", cwd=project,
                    env=_env(project, "postgresql"))  # fmt: skip

    assert result.returncode == 2
    assert "units.transport" in result.stderr


def test_kubernetes_on_sqlite_exits_2_saying_to_use_postgresql(tmp_path: Path) -> None:
    project = _project(tmp_path, "database")

    result = dolmen("deploy", "kubernetes", "myshop:app", "--env", "prod", cwd=project,
                    env=_env(project, "sqlite"))  # fmt: skip

    assert result.returncode == 2
    assert "uses SQLite, which pods cannot share" in result.stderr


def test_the_secret_and_the_broker_need_not_be_known_where_the_files_are_written(
    tmp_path: Path,
) -> None:
    """Units that call each other need the [units] secret, which the deployment provides."""
    project = _project(
        tmp_path,
        "rabbitmq",
        units='[units]\ntransport = "rabbitmq"\n\n'
        '[units.unit.catalog]\nmodules = ["catalog"]\nurl = "http://catalog:8000"\n\n'
        '[units.unit.rest]\nmodules = ["orders", "billing", "notifications"]\n',
    )
    env = env_for(project, DOLMEN_DATABASE_URL=DATABASES["postgresql"])  # no secret, no broker

    compose = dolmen("deploy", "compose", "myshop:app", "--env", "prod", cwd=project, env=env)
    kubernetes = dolmen("deploy", "kubernetes", "myshop:app", "--env", "prod", cwd=project, env=env)

    assert compose.returncode == 0, compose.stderr
    assert kubernetes.returncode == 0, kubernetes.stderr
    document = yaml.safe_load(compose.stdout)
    assert document["services"]["rest"]["secrets"] == ["units__secret"]
    assert "stand-in" not in compose.stdout + kubernetes.stdout  # deployed_topology's
    assert "--from-literal=units-secret=..." in kubernetes.stdout
    assert "--from-literal=broker-url=..." in kubernetes.stdout


def test_a_dolmen_units_current_of_this_machine_is_ignored(tmp_path: Path) -> None:
    project = _project(tmp_path, "nats")
    env = {**_env(project, "postgresql"), "DOLMEN__UNITS__CURRENT": "billing"}

    result = dolmen("deploy", "compose", "myshop:app", "--env", "prod", cwd=project, env=env)

    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["storefront"]["environment"]["DOLMEN__UNITS__CURRENT"] == "storefront"


def test_kubernetes_written_again_removes_the_files_of_a_unit_that_is_gone(tmp_path: Path) -> None:
    project = _project(tmp_path, "nats")
    env = _env(project, "postgresql")
    command = ("deploy", "kubernetes", "myshop:app", "--env", "prod", "--output", "k8s")
    assert dolmen(*command, cwd=project, env=env).returncode == 0
    (project / "k8s" / "namespace.yaml").write_text("apiVersion: v1\nkind: Namespace\n")
    (project / "config" / "dolmen.prod.toml").write_text(
        '[units]\ntransport = "nats"\nbroker_url = "nats://nats.internal:4222"\n\n'
        '[units.unit.storefront]\nmodules = ["catalog", "orders"]\n\n'
        '[units.unit.back-office]\nmodules = ["billing", "notifications"]\n'
    )

    result = dolmen(*command, cwd=project, env=env)

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (project / "k8s").iterdir()) == [
        "configmap.yaml", "namespace.yaml",
        "shop-back-office-deployment.yaml", "shop-back-office-service.yaml",
        "shop-storefront-deployment.yaml", "shop-storefront-service.yaml",
    ]  # fmt: skip
    assert "removed k8s/shop-billing-deployment.yaml (its unit is gone)" in result.stderr


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="docker-compose is not installed (apt-get install docker-compose): the file is "
    "checked against the published schemas only",
)
def test_docker_compose_reads_the_file_and_asks_for_the_passwords(tmp_path: Path) -> None:
    project = _project(tmp_path, "rabbitmq")
    result = dolmen(
        "deploy", "compose", "myshop:app", "--env", "prod", "--output", "compose.yaml",
        cwd=project, env=_env(project, "postgresql"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (project / "secrets").mkdir()
    (project / "secrets" / "units__secret").write_text("s" * 32)
    config = ["docker-compose", "--file", "compose.yaml", "config", "--quiet"]
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_PASSWORD")}

    missing = subprocess.run(config, cwd=project, env=clean, capture_output=True, text=True)
    given = subprocess.run(
        config, cwd=project, capture_output=True, text=True,
        env={**clean, "POSTGRES_PASSWORD": "p" * 24, "RABBITMQ_PASSWORD": "r" * 24},
    )  # fmt: skip

    assert missing.returncode != 0
    assert "set POSTGRES_PASSWORD: see the top of this file" in missing.stderr
    assert given.returncode == 0, given.stderr


def test_an_output_that_cannot_be_written_is_one_line_and_exit_1(tmp_path: Path) -> None:
    project = _project(tmp_path, "nats")
    (project / "compose.yaml").mkdir()

    result = dolmen(
        "deploy", "compose", "myshop:app", "--env", "prod", "--output", "compose.yaml",
        cwd=project, env=_env(project, "postgresql"),
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr == (
        "Error: cannot write compose.yaml: Is a directory; choose another --output\n"
    )
