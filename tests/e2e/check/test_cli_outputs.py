"""dolmen check's exit codes, output formats, baseline round-trip, and dolmen graph."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from sarif_pydantic import Sarif

from dolmen.check._model import RULES
from tests.dolmen_runner import dolmen

from .sarif_schema import sarif_schema


def test_exit_codes_are_0_clean_1_violations_2_configuration(acme: Path, shop_copy: Path) -> None:
    assert dolmen("check", str(shop_copy)).returncode == 0
    assert dolmen("check", str(acme)).returncode == 1
    (acme / "pyproject.toml").write_text("[tool.dolmen.check]\nroots = 'src'\nwat = 1\n")
    broken = dolmen("check", str(acme))
    assert broken.returncode == 2
    assert broken.stderr.startswith(f"2 configuration errors in {acme / 'pyproject.toml'}:")
    assert "unknown key 'wat' in [tool.dolmen.check]" in broken.stderr
    assert "roots must be a list of strings like [\"src\"], got a string ('src')" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_text_output_groups_by_module_and_ends_with_a_summary(acme: Path) -> None:
    lines = dolmen("check", str(acme)).stdout.splitlines()
    assert (
        lines[-1] == "17 violations in 5 modules (20 files, 4 modules; 0 baselined, 1 suppressed)"
    )
    assert "orders (8)" in lines
    assert (
        "  src/acme/orders/web.py:5:5: private-import: module 'orders' imports "
        "'acme.billing.gateway', a private part of module 'billing'; import from its public API "
        "(acme.billing.api) instead"
    ) in lines


def test_json_output_lists_every_violation(acme: Path) -> None:
    document = json.loads(dolmen("check", str(acme), "--format", "json").stdout)
    assert len(document["violations"]) == 17
    assert document["suppressed"] == 1
    assert document["violations"][0].keys() == {
        "rule",
        "message",
        "path",
        "line",
        "column",
        "module",
    }


def test_sarif_output_is_valid_sarif_2_1_0(acme: Path, pytestconfig: pytest.Config) -> None:
    text = dolmen("check", str(acme), "--format", "sarif").stdout
    document = json.loads(text)
    assert pytestconfig.cache is not None
    schema = sarif_schema(pytestconfig.cache)
    jsonschema.validate(document, schema, cls=jsonschema.Draft4Validator)
    log = Sarif.model_validate(document)
    assert log.version == "2.1.0"
    [run] = document["runs"]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert sorted(rule_ids) == sorted(RULES)
    assert len(run["results"]) == 17
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert region["startColumn"] >= 1
        assert result["message"]["text"]


def test_github_output_is_one_annotation_per_violation(acme: Path) -> None:
    lines = dolmen("check", str(acme), "--format", "github").stdout.splitlines()
    annotations = [line for line in lines if line.startswith("::error ")]
    assert len(annotations) == 17
    assert (
        "::error file=src/acme/orders/domain/order.py,line=3,col=1,title=dolmen forbidden-import::"
        "layer 'domain' of module 'orders' imports 'sqlalchemy'; keep sqlalchemy out of the domain "
        "(put that code in an adapter behind a port)"
    ) in annotations


def test_a_baseline_accepts_todays_violations_and_catches_new_and_fixed_ones(acme: Path) -> None:
    written = dolmen("check", str(acme), "--write-baseline")
    assert written.returncode == 0
    assert "wrote 17 violations" in written.stdout
    assert dolmen("check", str(acme)).returncode == 0

    web = acme / "src" / "acme" / "orders" / "web.py"
    web.write_text(web.read_text() + "\nfrom acme.catalog import _internal\n")
    repo = acme / "src" / "acme" / "orders" / "adapters" / "repo.py"
    repo.write_text("from ..domain.order import Order\n")
    result = dolmen("check", str(acme))
    assert result.returncode == 1
    out = result.stdout
    assert "src/acme/orders/web.py:9:1: private-import" in out
    assert "1 baseline entries no longer occur; rewrite the baseline:" in out
    assert "  src/acme/orders/adapters/repo.py:2: layer-violation:" in out
    assert out.splitlines()[-1].startswith("1 violation in 1 module")
    assert (
        dolmen("check", str(acme), "--no-baseline")
        .stdout.splitlines()[-1]
        .startswith("17 violations")
    )


def test_graph_draws_modules_with_event_and_violating_edges(acme: Path, shop_copy: Path) -> None:
    shop = dolmen("graph", str(shop_copy)).stdout.splitlines()
    assert shop[0] == "flowchart LR"
    assert "    orders --> catalog" in shop
    assert "    orders -.->|events| billing" in shop
    dot = dolmen("graph", str(acme), "--format", "dot").stdout
    assert '"catalog" -> "billing" [color=red, penwidth=2, label="violation"];' in dot
    assert '"orders" -> "billing" [color=red, penwidth=2, label="violation"];' in dot
    assert dot.startswith("digraph modules {")
