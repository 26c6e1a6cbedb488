"""CI formats place annotations at paths relative to the repository root (monorepos)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.dolmen_runner import dolmen

from .conftest import FIXTURES
from .sarif_schema import sarif_schema

ORDER = "services/acme/src/acme/orders/domain/order.py"


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """A git repository whose project (acme) lives in the subfolder services/acme."""
    repository = tmp_path / "repo"
    shutil.copytree(FIXTURES / "acme", repository / "services" / "acme")
    subprocess.run(["git", "init", "-q", str(repository)], check=True)
    return repository


def test_github_annotations_name_files_from_the_repository_root(monorepo: Path) -> None:
    lines = dolmen("check", str(monorepo / "services" / "acme"), "--format", "github").stdout
    annotations = [line for line in lines.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 17
    assert all(line.startswith("::error file=services/acme/") for line in annotations)
    assert f"::error file={ORDER},line=3,col=1,title=dolmen forbidden-import::" in lines


def test_sarif_locations_are_relative_to_the_repository_root(
    monorepo: Path, pytestconfig: pytest.Config
) -> None:
    text = dolmen("check", str(monorepo / "services" / "acme"), "--format", "sarif").stdout
    document = json.loads(text)
    assert pytestconfig.cache is not None
    jsonschema.validate(document, sarif_schema(pytestconfig.cache), cls=jsonschema.Draft4Validator)
    [run] = document["runs"]
    root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert root == monorepo.resolve().as_uri() + "/"
    artifacts = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert {a["uriBaseId"] for a in artifacts} == {"%SRCROOT%"}
    assert {"uri": ORDER, "uriBaseId": "%SRCROOT%"} in artifacts
    assert all((monorepo / a["uri"]).is_file() for a in artifacts)


def test_outside_a_git_repository_paths_are_relative_to_the_project(acme: Path) -> None:
    document = json.loads(dolmen("check", str(acme), "--format", "sarif").stdout)
    [run] = document["runs"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == acme.resolve().as_uri() + "/"
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert "src/acme/orders/domain/order.py" in uris
