"""``dolmen deploy``'s files: valid against the published schemas, complete, with no secret."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from dolmen.units import TopologyError, UnitsSettings
from dolmen.units.deploy import (
    DeployError,
    Deployment,
    compose_file,
    compose_header,
    dump_yaml,
    kubernetes_header,
    kubernetes_manifests,
)
from tests.schemas import COMPOSE_SCHEMAS, compose_errors, kubernetes_errors

UNITS_SECRET = "units-secret-" + "u" * 32
DATABASE_PASSWORD = "db-password-p4ss"
POSTGRES_URL = f"postgresql://shop:{DATABASE_PASSWORD}@db.internal:5432/shopdb"
SQLITE_URL = "sqlite:///./var/shop.db"
BROKER_URLS = {
    "database": None,
    "rabbitmq": "amqp://shop:broker-password-b@mq:5672/",
    "nats": "nats://nats-user:broker-password-b@nats:4222",
    "redis": "redis://:broker-password-b@redis:6379/0",
}
TRANSPORTS = list(BROKER_URLS)


@dataclass(frozen=True)
class _Module:
    name: str
    depends_on: Sequence[str] = field(default_factory=tuple)


SHOP = [
    _Module("catalog"),
    _Module("orders", ("catalog",)),
    _Module("billing"),
    _Module("notifications"),
]

THREE_UNITS = {
    "storefront": {"modules": ["catalog", "orders"]},
    "billing": {"modules": ["billing"], "replicas": 3},
    "notifications": {"modules": ["notifications"]},
}


def _deployment(
    transport: str = "rabbitmq",
    database_url: str = POSTGRES_URL,
    units: Mapping[str, Any] = THREE_UNITS,
    **extra: Any,
) -> Deployment:
    settings = UnitsSettings.model_validate(
        {
            "unit": units,
            "transport": transport,
            "broker_url": BROKER_URLS[transport],
            "secret": UNITS_SECRET,
            **extra,
        }
    )
    return Deployment.plan(
        app="shop",
        spec="shop.app:app",
        environment="prod",
        settings=settings,
        modules=SHOP,
        database_url=database_url,
    )


def _compose_text(deployment: Deployment) -> str:
    return dump_yaml(compose_file(deployment), compose_header(deployment))


def _kubernetes_text(deployment: Deployment) -> str:
    header = kubernetes_header(deployment)
    return "---\n".join(dump_yaml(r, header) for _, r in kubernetes_manifests(deployment))


@pytest.mark.parametrize("schema", COMPOSE_SCHEMAS)
@pytest.mark.parametrize("database_url", [POSTGRES_URL, SQLITE_URL], ids=["postgresql", "sqlite"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_compose_file_of_the_split_shop_is_valid_compose(
    transport: str, database_url: str, schema: str
) -> None:
    text = _compose_text(_deployment(transport, database_url))

    assert compose_errors(yaml.safe_load(text), schema) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_kubernetes_manifests_of_the_split_shop_are_valid_kubernetes(transport: str) -> None:
    manifests = kubernetes_manifests(_deployment(transport), namespace="shop")

    kinds = [(r["kind"], r["metadata"]["name"]) for _, r in manifests]
    assert kinds == [
        ("ConfigMap", "shop-config"),
        ("Deployment", "shop-billing"),
        ("Service", "shop-billing"),
        ("Deployment", "shop-notifications"),
        ("Service", "shop-notifications"),
        ("Deployment", "shop-storefront"),
        ("Service", "shop-storefront"),
    ]
    for _, resource in manifests:
        assert kubernetes_errors(yaml.safe_load(dump_yaml(resource))) == []
        assert resource["metadata"]["namespace"] == "shop"


def test_the_schemas_refuse_what_they_should() -> None:
    """The validation itself can fail: a misspelt key is caught by every schema."""
    document = compose_file(_deployment())
    document["services"]["billing"]["healthchek"] = document["services"]["billing"].pop(
        "healthcheck"
    )
    deployment = kubernetes_manifests(_deployment())[1][1]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}

    for schema in COMPOSE_SCHEMAS:
        assert compose_errors(document, schema) != []
    assert kubernetes_errors(deployment) != []


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("database_url", [POSTGRES_URL, SQLITE_URL], ids=["postgresql", "sqlite"])
def test_no_secret_value_is_written(transport: str, database_url: str) -> None:
    deployment = _deployment(transport, database_url)
    texts = [_compose_text(deployment)]
    if database_url == POSTGRES_URL:
        texts.append(_kubernetes_text(deployment))

    for text in texts:
        assert UNITS_SECRET not in text
        assert DATABASE_PASSWORD not in text
        assert "broker-password" not in text
        assert "db.internal" not in text  # the configured URL is not copied either


def test_each_unit_is_a_service_running_its_unit_with_its_replicas() -> None:
    services = compose_file(_deployment("rabbitmq"))["services"]

    assert sorted(services) == [
        "billing", "migrate", "notifications", "postgres", "rabbitmq", "storefront",
    ]  # fmt: skip
    billing = services["billing"]
    assert billing["command"] == [
        "dolmen", "run", "shop.app:app", "--unit", "billing", "--host", "0.0.0.0", "--port",
        "8000",
    ]  # fmt: skip
    assert billing["deploy"] == {"replicas": 3}
    assert "ports" not in billing  # one host port cannot go to three replicas
    assert services["storefront"]["deploy"] == {"replicas": 1}
    assert services["storefront"]["ports"] == ["8002:8000"]
    assert billing["environment"]["DOLMEN_ENV"] == "prod"
    assert billing["environment"]["DOLMEN__UNITS__CURRENT"] == "billing"
    assert "/healthz" in billing["healthcheck"]["test"][-1]


def test_units_start_once_the_broker_and_postgres_are_healthy_and_migrated() -> None:
    services = compose_file(_deployment("nats"))["services"]

    assert services["storefront"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "nats": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    assert services["migrate"]["command"] == ["dolmen", "db", "upgrade", "--app", "shop.app:app"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["nats"]["healthcheck"]["test"][0] == "CMD"
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]


@pytest.mark.parametrize(
    ("transport", "image", "url"),
    [
        ("rabbitmq", "rabbitmq:3.13", "amqp://dolmen:${RABBITMQ_PASSWORD:?"),
        ("nats", "nats:2.10-alpine", "nats://nats:4222"),
        ("redis", "redis:7", "redis://redis:6379/0"),
    ],
)
def test_the_broker_runs_from_its_official_image_with_a_health_check(
    transport: str, image: str, url: str
) -> None:
    services = compose_file(_deployment(transport))["services"]

    assert services[transport]["image"] == image
    assert services[transport]["healthcheck"]["test"][0] == "CMD"
    assert services["billing"]["environment"]["DOLMEN__UNITS__BROKER_URL"].startswith(url)
    assert services["billing"]["depends_on"][transport] == {"condition": "service_healthy"}


def test_the_database_transport_runs_no_broker() -> None:
    services = compose_file(_deployment("database"))["services"]

    assert sorted(services) == ["billing", "migrate", "notifications", "postgres", "storefront"]
    assert "DOLMEN__UNITS__BROKER_URL" not in services["billing"]["environment"]
    assert services["billing"]["environment"]["DOLMEN__UNITS__TRANSPORT"] == "database"


def test_each_unit_reaches_the_others_by_service_name() -> None:
    compose = compose_file(_deployment())["services"]
    config_map = kubernetes_manifests(_deployment())[0][1]

    assert compose["billing"]["environment"]["DOLMEN__UNITS__UNIT__STOREFRONT__URL"] == (
        "http://storefront:8000"
    )
    assert config_map["data"]["DOLMEN__UNITS__UNIT__STOREFRONT__URL"] == (
        "http://shop-storefront:8000"
    )


def test_postgresql_runs_beside_the_units_with_its_password_from_a_variable() -> None:
    services = compose_file(_deployment())["services"]

    url = services["billing"]["environment"]["DOLMEN_DATABASE_URL"]
    assert url.startswith("postgresql://shop:${POSTGRES_PASSWORD:?")
    assert url.endswith("}@postgres:5432/shopdb")
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    assert "POSTGRES_PASSWORD" in "\n".join(compose_header(_deployment()))


def test_sqlite_is_a_volume_the_units_share() -> None:
    document = compose_file(_deployment("redis", SQLITE_URL))

    assert "postgres" not in document["services"]
    billing = document["services"]["billing"]
    assert billing["environment"]["DOLMEN_DATABASE_URL"] == "sqlite:////data/shop.db"
    assert billing["volumes"] == ["data:/data"]
    assert "data" in document["volumes"]


def test_the_units_secret_is_a_compose_secret_file_when_units_call_each_other() -> None:
    split_orders = {
        "catalog": {"modules": ["catalog"], "url": "http://catalog.example:8000"},
        "rest": {"modules": ["orders", "billing", "notifications"]},
    }
    deployment = _deployment(units=split_orders)
    document = compose_file(deployment)

    assert document["secrets"] == {"units__secret": {"file": "./secrets/units__secret"}}
    assert document["services"]["rest"]["secrets"] == ["units__secret"]
    assert "./secrets/units__secret" in "\n".join(compose_header(deployment))
    env = kubernetes_manifests(deployment)[3][1]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {
        "name": "DOLMEN__UNITS__SECRET",
        "valueFrom": {"secretKeyRef": {"key": "units-secret", "name": "shop-secrets"}},
    } in env


def test_kubernetes_probes_replicas_and_configuration() -> None:
    manifests = dict(kubernetes_manifests(_deployment()))

    deployment = manifests["shop-billing-deployment.yaml"]
    service = manifests["shop-billing-service.yaml"]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == 3
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["envFrom"] == [{"configMapRef": {"name": "shop-config"}}]
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    assert pod["spec"]["initContainers"][0]["command"][:3] == ["dolmen", "db", "upgrade"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    assert manifests["configmap.yaml"]["data"]["DOLMEN_ENV"] == "prod"


def test_kubernetes_refuses_sqlite() -> None:
    with pytest.raises(DeployError) as raised:
        kubernetes_manifests(_deployment(database_url=SQLITE_URL))

    assert "SQLite" in raised.value.problems[0]
    assert "postgresql://" in raised.value.problems[0]


def test_a_unit_named_like_a_service_beside_it_is_refused() -> None:
    units = {"postgres": {"modules": ["catalog", "orders"]}, "rest": THREE_UNITS["billing"]}
    units["rest"] = {"modules": ["billing", "notifications"]}

    with pytest.raises(DeployError) as raised:
        compose_file(_deployment(units=units))

    assert raised.value.problems == [
        "unit 'postgres' takes the name of a service the Compose file runs beside the units "
        "(migrate, nats, postgres, rabbitmq, redis); rename the unit"
    ]


def test_an_app_of_one_unit_runs_it_without_choosing_a_unit() -> None:
    deployment = _deployment(units={}, secret=None)
    services = compose_file(deployment)["services"]

    assert sorted(services) == ["main", "migrate", "postgres", "rabbitmq"]
    assert "--unit" not in services["main"]["command"]
    assert "DOLMEN__UNITS__CURRENT" not in services["main"]["environment"]
    assert "secrets" not in compose_file(deployment)


def test_the_same_configuration_gives_the_same_bytes() -> None:
    reordered = dict(reversed(list(THREE_UNITS.items())))

    assert _compose_text(_deployment()) == _compose_text(_deployment(units=reordered))
    assert _kubernetes_text(_deployment()) == _kubernetes_text(_deployment(units=reordered))


@pytest.mark.parametrize(
    "value",
    ["on", "No", "null", "~", "8000", "0.0.0.0", "1e3", ".5", "", "a: b", "#x", "- x", "-c",
     "${A:?b}", "it's", 'say "hi"', "line\nbreak", "café", "sqlite:////data/x.db", "y"],
)  # fmt: skip
def test_yaml_reads_back_every_string_as_that_string(value: str) -> None:
    document: dict[str, Any] = {
        "key": value,
        value or "empty": [value, {"nested": value}],
        "list": [[value]],
    }

    assert yaml.safe_load(dump_yaml(document)) == document


def test_yaml_writes_numbers_booleans_and_empty_collections() -> None:
    document: dict[str, Any] = {
        "a": 1,
        "b": True,
        "c": False,
        "d": None,
        "e": {},
        "f": [],
        "g": 1.5,
    }

    assert yaml.safe_load(dump_yaml(document, ["a comment"])) == document
    assert dump_yaml(document, ["a comment"]).startswith("# a comment\n")


def test_the_secret_and_the_broker_url_are_the_deployments_to_provide() -> None:
    split_catalog = {
        "catalog": {"modules": ["catalog"], "url": "http://catalog:8000"},
        "rest": {"modules": ["orders", "billing", "notifications"]},
    }
    settings = UnitsSettings.model_validate(
        {"unit": split_catalog, "transport": "redis", "current": "rest"}
    )

    deployment = Deployment.plan(
        app="shop",
        spec="shop.app:app",
        environment="prod",
        settings=settings,
        modules=SHOP,
        database_url=POSTGRES_URL,
    )

    assert deployment.secret  # orders calls catalog across units
    assert deployment.topology.current is None  # every unit is written
    assert "stand-in" not in _compose_text(deployment) + _kubernetes_text(deployment)


def test_a_topology_that_does_not_fit_the_modules_is_refused() -> None:
    settings = UnitsSettings.model_validate({"unit": {"all": {"modules": ["catalog", "orders"]}}})

    with pytest.raises(TopologyError) as raised:
        Deployment.plan(
            app="shop",
            spec="shop.app:app",
            environment="prod",
            settings=settings,
            modules=SHOP,
            database_url=POSTGRES_URL,
        )

    assert raised.value.problems == [
        "modules 'billing', 'notifications' are in no unit: add them to the modules of one"
    ]


def test_a_database_user_or_name_with_reserved_characters_stays_one_url() -> None:
    deployment = _deployment(database_url="postgresql://shop%40eu:pw@db/shop%2Fmain")

    services = compose_file(deployment)["services"]

    url = services["billing"]["environment"]["DOLMEN_DATABASE_URL"]
    assert url.startswith("postgresql://shop%40eu:${POSTGRES_PASSWORD:?")
    assert url.endswith("@postgres:5432/shop%2Fmain")
    assert services["postgres"]["environment"]["POSTGRES_USER"] == "shop@eu"
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "shop/main"


def test_kubernetes_refuses_a_namespace_kubernetes_would_refuse() -> None:
    with pytest.raises(DeployError) as raised:
        kubernetes_manifests(_deployment(database_url=SQLITE_URL), namespace="Shop_Prod")

    assert [p.split(" ", 2)[:2] for p in raised.value.problems] == [
        ["namespace", "'Shop_Prod'"],
        ["environment", "'prod'"],
    ]


def test_a_unit_starts_after_the_units_it_calls_unless_they_call_it_back() -> None:
    @dataclass(frozen=True)
    class Placed:
        name: str
        depends_on: Sequence[str] = ()

    # No cycle among the modules; one among the units: third (c, f) and fourth (d).
    modules = [
        Placed("a"), Placed("b", ("a",)), Placed("c", ("b",)), Placed("d", ("c",)),
        Placed("f", ("d",)),
    ]  # fmt: skip
    units = {
        "first": {"modules": ["a"], "url": "http://first:8000"},
        "second": {"modules": ["b"], "url": "http://second:8000"},
        "third": {"modules": ["c", "f"], "url": "http://third:8000"},
        "fourth": {"modules": ["d"], "url": "http://fourth:8000"},
    }
    settings = UnitsSettings.model_validate({"unit": units, "secret": UNITS_SECRET})
    deployment = Deployment.plan(
        app="abc",
        spec="abc:app",
        environment="prod",
        settings=settings,
        modules=modules,
        database_url=POSTGRES_URL,
    )

    services = compose_file(deployment)["services"]

    def units_first(name: str) -> list[str]:
        return [s for s in services[name]["depends_on"] if s not in ("migrate", "postgres")]

    assert units_first("first") == []
    assert units_first("second") == ["first"]
    assert units_first("third") == ["second"]  # fourth calls third back: they start together
    assert units_first("fourth") == []
    for schema in COMPOSE_SCHEMAS:
        assert compose_errors(yaml.safe_load(dump_yaml(compose_file(deployment))), schema) == []


def test_a_database_dolmen_does_not_run_on_is_refused() -> None:
    with pytest.raises(DeployError) as raised:
        _deployment(database_url="mysql://shop:pw@db/shop")

    assert raised.value.problems == [
        "the database is 'mysql'; Dolmen deploys on PostgreSQL or SQLite"
    ]


@pytest.mark.parametrize(
    ("transport", "database_url", "requirement"),
    [
        ("rabbitmq", POSTGRES_URL, "dolmen[postgres,rabbitmq,fast]"),
        ("nats", POSTGRES_URL, "dolmen[postgres,nats,fast]"),
        ("redis", SQLITE_URL, "dolmen[redis,fast]"),
        ("database", SQLITE_URL, "dolmen[fast]"),
    ],
)
def test_the_image_notes_name_the_extras_it_needs_and_fast(
    transport: str, database_url: str, requirement: str
) -> None:
    deployment = _deployment(transport, database_url)
    headers = [compose_header(deployment)]
    if database_url == POSTGRES_URL:  # Kubernetes runs on PostgreSQL only
        headers.append(kubernetes_header(deployment))

    for header in headers:
        image = next(i for i, line in enumerate(header) if "the image shop:latest" in line)
        assert header[image].endswith(f"its dolmen.toml files and {requirement}")
        assert "fast: uvloop and httptools" in header[image + 1]
