"""Validate deployment files against the published schemas in tests/fixtures/schemas."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"
COMPOSE_SCHEMAS = sorted(p.name for p in (SCHEMAS / "compose").glob("*.json"))
"""The Compose Specification's schema, as published at two dates."""

_KUBERNETES = {("apps/v1", "Deployment"): "deployment-apps-v1.json"}


@functools.cache
def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def compose_errors(document: Any, schema_name: str) -> list[str]:
    """Where ``document`` breaks the Compose schema ``schema_name`` (none: it is valid)."""
    schema = _load(SCHEMAS / "compose" / schema_name)
    # It declares draft 2019-09 by a URI of its own ("http://json-schema.org/draft/2019-09/
    # schema#"), which jsonschema does not know: the draft is named here.
    validator = jsonschema.Draft201909Validator(schema)
    return [_describe(error) for error in validator.iter_errors(document)]


def kubernetes_errors(resource: Any) -> list[str]:
    """Where ``resource`` breaks the Kubernetes 1.37 schema of its kind (strict)."""
    key = (resource["apiVersion"], resource["kind"])
    name = _KUBERNETES.get(key, f"{resource['kind'].lower()}-{resource['apiVersion']}.json")
    schema = _load(SCHEMAS / "kubernetes" / name)
    definitions = _load(SCHEMAS / "kubernetes" / "_definitions.json")
    registry: Registry[Any] = Registry().with_resources(
        (contents["$id"], Resource.from_contents(contents)) for contents in (schema, definitions)
    )
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return [_describe(error) for error in validator.iter_errors(resource)]


def _describe(error: jsonschema.ValidationError) -> str:
    return f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
