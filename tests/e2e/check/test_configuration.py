"""A wrong configuration, or nothing to check, exits 2 with the problem, never a silent pass."""

from __future__ import annotations

import re
from pathlib import Path

from tests.dolmen_runner import dolmen
from tests.unit.check.test_configuration import MODULES, SETTINGS, project

README_EXAMPLE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_every_problem_of_the_file_is_reported_at_once_naming_the_file(tmp_path: Path) -> None:
    root = project(tmp_path, SETTINGS + "colour = 'blue'\nunused-dependencies = 1\n" + MODULES)
    result = dolmen("check", str(root))
    assert result.returncode == 2
    assert result.stderr.startswith(f"2 configuration errors in {root / 'pyproject.toml'}:")
    assert "unknown key 'colour'" in result.stderr
    assert "unused-dependencies must be true or false (no quotes), got an integer" in result.stderr


def test_a_folder_without_configuration_is_an_error_not_a_pass(tmp_path: Path) -> None:
    project(tmp_path, pyproject=None)
    result = dolmen("check", str(tmp_path))
    assert (result.returncode, result.stdout) == (2, "")
    assert f"no pyproject.toml in {tmp_path}" in result.stderr
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'acme'\n")
    assert "no [tool.dolmen.check] table" in dolmen("check", str(tmp_path)).stderr


def test_a_corrupt_baseline_is_an_error_naming_the_file(tmp_path: Path) -> None:
    root = project(tmp_path, **{"src/acme/orders/service.py": "from acme.billing import x\n"})
    assert dolmen("check", str(root)).returncode == 1
    for text in ("{not json", '{"version": 1, "violations": [{"rule": "private-import"}]}'):
        (root / "dolmen-baseline.json").write_text(text)
        result = dolmen("check", str(root))
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(
            "configuration error in dolmen-baseline.json: the baseline cannot be read ("
        )
        assert "dolmen check --write-baseline" in result.stderr
        assert "Traceback" not in result.stderr


def test_the_readme_example_is_not_a_silent_pass(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    match = README_EXAMPLE.search(readme)
    assert match is not None
    (tmp_path / "hello.py").write_text(match.group(1))
    result = dolmen("check", str(tmp_path))
    assert result.returncode == 2
    assert "no pyproject.toml" in result.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.dolmen.check]\n")
    result = dolmen("check", str(tmp_path))
    assert result.returncode == 2
    assert re.search(
        r"modules 'greetings' \(hello.py:\d+\) and 'front' \(hello.py:\d+\) are all on "
        r"package 'hello', so no import can cross from one to another",
        result.stderr,
    ), result.stderr
