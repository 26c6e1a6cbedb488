"""``kubernetes_manifests``: a Deployment and a Service per unit, and their ConfigMap."""

from __future__ import annotations

import re
from typing import Any

from dolmen.units._topology import Unit
from dolmen.units.deploy._plan import (
    FAST_NOTE,
    PORT,
    DeployError,
    Deployment,
    dns_label,
    unit_url_variable,
)

_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

Manifest = tuple[str, dict[str, Any]]
"""A file name and the resource it holds."""

RESOURCES = {
    "limits": {"memory": "512Mi"},
    "requests": {"cpu": "100m", "memory": "256Mi"},
}
"""Placeholders, to measure and adjust: a unit's steady memory is its limit's half or less."""


def kubernetes_manifests(deployment: Deployment, namespace: str | None = None) -> list[Manifest]:
    """The manifests of ``deployment``, one resource per file, in the order to apply them.

    The ConfigMap holds the non-secret configuration every unit shares; each Deployment
    reads it, takes the database URL, the broker's URL and the ``[units]`` secret from the
    Secret ``<app>-secrets`` (which the user creates: its values are never written here),
    runs ``dolmen db upgrade`` first (an init container: concurrent upgrades take turns),
    and is probed on ``/healthz`` (liveness) and ``/readyz`` (readiness, which includes the
    broker and the units it calls). The broker is expected to run already, in the cluster
    or beside it: a broker's persistence and clustering are its operator's job.
    """
    problems = []
    if namespace is not None and not _NAMESPACE.match(namespace):
        problems.append(
            f"namespace {namespace!r} is not a Kubernetes namespace: lower-case letters, "
            "digits and '-', starting and ending with a letter or digit, at most 63"
        )
    if deployment.database.backend != "postgresql":
        problems.append(
            f"environment {deployment.environment!r} uses SQLite, which pods cannot "
            "share: set [app] database_url in dolmen."
            f"{deployment.environment}.toml (or DOLMEN_DATABASE_URL) to a "
            "postgresql:// URL; the pods take the real one from the Secret"
        )
    if problems:
        raise DeployError(problems)
    manifests: list[Manifest] = [("configmap.yaml", _config_map(deployment, namespace))]
    for unit in deployment.units:
        name = _name(deployment, unit)
        manifests.append((f"{name}-deployment.yaml", _deployment(deployment, unit, namespace)))
        manifests.append((f"{name}-service.yaml", _service(deployment, unit, namespace)))
    return manifests


def secret_name(deployment: Deployment) -> str:
    """The Secret each unit reads its database URL, broker URL and ``[units]`` secret from."""
    return f"{dns_label(deployment.app)}-secrets"


def secret_keys(deployment: Deployment) -> dict[str, str]:
    """The Secret's keys, each with the variable it becomes in the units' containers."""
    keys = {"database-url": "DOLMEN_DATABASE_URL"}
    if deployment.transport != "database":
        keys["broker-url"] = "DOLMEN__UNITS__BROKER_URL"
    if deployment.secret:
        keys["units-secret"] = "DOLMEN__UNITS__SECRET"
    return keys


def kubernetes_header(deployment: Deployment) -> list[str]:
    """The comment at the top of each file: what it is, and what the user must provide."""
    keys = secret_keys(deployment)
    literals = " ".join(f"--from-literal={key}=..." for key in keys)
    lines = [
        f"Kubernetes manifests of {deployment.app}, environment {deployment.environment!r}: "
        "written by `dolmen deploy kubernetes`.",
        "Written again, they give the same bytes: commit them, and review their diffs.",
        "",
        "Provide before `kubectl apply`:",
        f"  - the image {deployment.image}, with the app, its dolmen.toml files and "
        f"{deployment.requirement}",
        f"    ({FAST_NOTE})",
        f"  - the Secret {secret_name(deployment)} (never written here):",
        f"      kubectl create secret generic {secret_name(deployment)} {literals}",
        "    database-url: postgresql://user:password@host/db",
    ]
    if "broker-url" in keys:
        lines.append(
            f"    broker-url: the {deployment.transport} broker, running already "
            "(its operator or chart: Dolmen writes none)"
        )
    if "units-secret" in keys:
        lines.append("    units-secret: at least 32 random characters (openssl rand -hex 32)")
    lines.append("  - resources: the requests and limits are placeholders; measure, then set")
    return lines


def _name(deployment: Deployment, unit: Unit) -> str:
    return f"{dns_label(deployment.app)}-{dns_label(unit.name)}"[:63].rstrip("-")


def _metadata(name: str, labels: dict[str, str], namespace: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"labels": labels, "name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def _labels(deployment: Deployment, unit: Unit | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/managed-by": "dolmen",
        "app.kubernetes.io/name": dns_label(deployment.app),
    }
    if unit is not None:
        labels["app.kubernetes.io/component"] = dns_label(unit.name)
    return dict(sorted(labels.items()))


def _config_map(deployment: Deployment, namespace: str | None) -> dict[str, Any]:
    data = {"DOLMEN_ENV": deployment.environment}
    if deployment.topology.split:
        data["DOLMEN__UNITS__TRANSPORT"] = deployment.transport
        for unit in deployment.units:
            data[unit_url_variable(unit)] = f"http://{_name(deployment, unit)}:{PORT}"
    return {
        "apiVersion": "v1",
        "data": dict(sorted(data.items())),
        "kind": "ConfigMap",
        "metadata": _metadata(
            f"{dns_label(deployment.app)}-config", _labels(deployment), namespace
        ),
    }


def _environment(deployment: Deployment, unit: Unit | None) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": name, "value": value}
        for name, value in (deployment.current(unit) if unit else {}).items()
    ]
    for key, variable in sorted(secret_keys(deployment).items(), key=lambda item: item[1]):
        reference = {"key": key, "name": secret_name(deployment)}
        env.append({"name": variable, "valueFrom": {"secretKeyRef": reference}})
    return env


def _container(
    deployment: Deployment, name: str, command: list[str], unit: Unit | None
) -> dict[str, Any]:
    return {
        "command": command,
        "env": _environment(deployment, unit),
        "envFrom": [{"configMapRef": {"name": f"{dns_label(deployment.app)}-config"}}],
        "image": deployment.image,
        "name": name,
        "securityContext": {"allowPrivilegeEscalation": False},
    }


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "failureThreshold": failures,
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
    }


def _deployment(deployment: Deployment, unit: Unit, namespace: str | None) -> dict[str, Any]:
    labels = _labels(deployment, unit)
    selector = {k: v for k, v in labels.items() if k != "app.kubernetes.io/managed-by"}
    container = _container(deployment, dns_label(unit.name), deployment.run_command(unit), unit)
    container.update(
        livenessProbe=_probe("/healthz", 10, 3),
        ports=[{"containerPort": PORT, "name": "http", "protocol": "TCP"}],
        readinessProbe=_probe("/readyz", 5, 2),
        resources=RESOURCES,
        startupProbe=_probe("/healthz", 2, 30),
    )
    migrate = _container(deployment, "migrate", deployment.migrate_command(), None)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(_name(deployment, unit), labels, namespace),
        "spec": {
            "replicas": unit.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [dict(sorted(container.items()))],
                    "initContainers": [migrate],
                },
            },
        },
    }


def _service(deployment: Deployment, unit: Unit, namespace: str | None) -> dict[str, Any]:
    labels = _labels(deployment, unit)
    selector = {k: v for k, v in labels.items() if k != "app.kubernetes.io/managed-by"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(_name(deployment, unit), labels, namespace),
        "spec": {
            "ports": [{"name": "http", "port": PORT, "protocol": "TCP", "targetPort": "http"}],
            "selector": selector,
        },
    }
