"""Dolmen keeps the boundaries it enforces: its own sub-packages pass ``dolmen check``.

ci/self-check/pyproject.toml declares each capability sub-package of src/dolmen a module,
with the modules it may use and its public API (its ``__init__``); there is no baseline.
"""

from __future__ import annotations

from pathlib import Path

from dolmen.check import run_check

SETTINGS = Path(__file__).resolve().parents[2] / "ci" / "self-check"


def test_dolmen_s_sub_packages_keep_their_boundaries_with_no_baseline() -> None:
    report = run_check(SETTINGS, use_cache=False, use_baseline=False)
    assert [v.message for v in report.violations] == []
    assert report.files > 100
    assert not (SETTINGS / "dolmen-baseline.json").exists()


def test_every_sub_package_of_dolmen_is_a_declared_module() -> None:
    """A new capability (dolmen/observability, say) is checked from its first file."""
    source = SETTINGS.parents[1] / "src" / "dolmen"
    packages = {p.parent.name for p in source.glob("*/__init__.py")}
    declared = {m.package for m in run_check(SETTINGS, use_cache=False).project.modules}
    assert {f"dolmen.{name}" for name in packages} == declared
