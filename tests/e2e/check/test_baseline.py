"""The baseline through the command: a new violation like an old one, stale entries, versions."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dolmen.check._runner import run_check
from tests.dolmen_runner import dolmen

from .sarif_schema import sarif_schema

SERVICE = Path("src/acme/orders/service.py")


def lines_of(root: Path) -> list[tuple[str, str, int]]:
    return sorted((v.rule, v.path, v.line) for v in run_check(root).violations)


def test_a_new_violation_like_an_old_one_is_reported_at_its_own_line(acme: Path) -> None:
    assert dolmen("check", str(acme), "--write-baseline").returncode == 0
    service = acme / SERVICE
    # Lines added above move every baselined violation of the file; the new import is like
    # them (same rule, module and target) but is not one of them.
    service.write_text("\n\nfrom acme.catalog._internal import other\n\n" + service.read_text())
    assert lines_of(acme) == [("private-import", str(SERVICE), 3)]
    result = dolmen("check", str(acme))
    assert result.returncode == 1
    assert f"{SERVICE}:3:1: private-import: module 'orders' imports 'acme.catalog._internal' " \
        "(other)" in result.stdout  # fmt: skip


def test_a_copy_of_a_baselined_statement_lower_down_is_new(acme: Path) -> None:
    assert dolmen("check", str(acme), "--write-baseline").returncode == 0
    web = acme / "src" / "acme" / "orders" / "web.py"
    web.write_text("\n" + web.read_text() + "\n\ndef again():\n    import acme.billing.gateway\n")
    assert lines_of(acme) == [("private-import", "src/acme/orders/web.py", 12)]


def test_a_baseline_of_an_unknown_version_exits_2_saying_to_rewrite_it(acme: Path) -> None:
    (acme / "dolmen-baseline.json").write_text('{"version": 3, "violations": []}')
    result = dolmen("check", str(acme))
    assert result.returncode == 2
    assert "not a dolmen baseline of a known version" in result.stderr
    assert "dolmen check --write-baseline" in result.stderr


@pytest.fixture
def stale(acme: Path) -> Path:
    """acme with a baseline, then one of its violations fixed (its entry is stale)."""
    assert dolmen("check", str(acme), "--write-baseline").returncode == 0
    (acme / "src" / "acme" / "orders" / "adapters" / "repo.py").write_text(
        "from ..domain.order import Order\n"
    )
    return acme


def test_stale_entries_are_warnings_in_the_github_format(stale: Path) -> None:
    result = dolmen("check", str(stale), "--format", "github")
    assert result.returncode == 0
    assert (
        "::warning file=src/acme/orders/adapters/repo.py,line=2,title=dolmen stale baseline "
        "entry::baseline entry no longer occurs (layer-violation: "
        "adapters->service:acme.orders.service); rewrite the baseline with "
        "`dolmen check --write-baseline`"
    ) in result.stdout.splitlines()


def test_stale_entries_are_absent_results_in_the_sarif_format(
    stale: Path, pytestconfig: pytest.Config
) -> None:
    document = json.loads(dolmen("check", str(stale), "--format", "sarif").stdout)
    assert pytestconfig.cache is not None
    jsonschema.validate(document, sarif_schema(pytestconfig.cache), cls=jsonschema.Draft4Validator)
    [gone] = document["runs"][0]["results"]
    assert gone["baselineState"] == "absent"
    assert (gone["ruleId"], gone["kind"], gone["level"]) == (
        "layer-violation",
        "informational",
        "none",
    )
    assert gone["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "src/acme/orders/adapters/repo.py"
    )
    assert gone["locations"][0]["physicalLocation"]["region"] == {"startLine": 2}
    assert "rewrite the baseline" in gone["message"]["text"]
