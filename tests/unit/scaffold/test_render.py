"""The templates: placeholders, paths, and generated code that fits its project's rules."""

from __future__ import annotations

import ast
from pathlib import PurePosixPath

import pytest

from dolmen.scaffold import ScaffoldError
from dolmen.scaffold._names import MAX_MODULE_LENGTH, MAX_PROJECT_LENGTH
from dolmen.scaffold._render import render_text, render_tree

LONGEST_PROJECT = "p" * MAX_PROJECT_LENGTH
LONGEST_MODULE = "m" * MAX_MODULE_LENGTH


def module_variables(package: str, module: str) -> dict[str, str]:
    return {
        "project": package,
        "package": package,
        "module": module,
        "module_package": f"{package}.{module}",
        "class_name": module.capitalize(),
        "env_name": module.upper(),
    }


def project_variables(project: str) -> dict[str, str]:
    return {
        "project": project,
        "package": project,
        "title": project.capitalize(),
        "dolmen_version": "0.1.0",
        "dolmen_source_default": "# unset",
    }


def test_placeholders_are_filled_and_shell_dollars_left_alone() -> None:
    text = 'cd "$(dirname "$0")" && echo {{name}} ${HOME} {{{{literal}}'
    expected = 'cd "$(dirname "$0")" && echo hello ${HOME} {{literal}}'
    assert render_text(text, {"name": "hello"}) == expected


@pytest.mark.parametrize("text", ["{{missing}}", "{{ spaced }}", "{{Upper"])
def test_a_broken_placeholder_is_an_error_naming_the_template(text: str) -> None:
    with pytest.raises(ScaffoldError, match=r"template x\.tmpl of Dolmen is broken"):
        render_text(text, {"name": "hello"}, "x.tmpl")


def test_a_project_tree_maps_its_paths() -> None:
    paths = {file.path for file in render_tree("project", project_variables("acme"))}
    assert {
        PurePosixPath(".ci/run"),
        PurePosixPath(".gitignore"),
        PurePosixPath("README.md"),
        PurePosixPath("pyproject.toml"),
        PurePosixPath("acme/app.py"),
        PurePosixPath("acme/dolmen.toml"),
        PurePosixPath("scripts/test"),
        PurePosixPath("tests/conftest.py"),
    } <= paths
    assert not any(part.endswith(".tmpl") for path in paths for part in path.parts)


def test_only_scripts_are_executable() -> None:
    rendered = render_tree("project", project_variables("acme"))
    executables = {file.path for file in rendered if file.executable}
    assert executables == {
        PurePosixPath(".ci/run"),
        PurePosixPath("scripts/run"),
        PurePosixPath("scripts/test"),
    }


def test_a_module_has_the_conventional_layout() -> None:
    paths = {str(file.path) for file in render_tree("module", module_variables("acme", "billing"))}
    for part in ("api.py", "service.py", "web.py", "handlers.py", "settings.py", "module.py"):
        assert f"billing/{part}" in paths
    assert "billing/domain/__init__.py" in paths
    assert "billing/adapters/tables.py" in paths
    assert "tests/test_http.py" in paths


@pytest.mark.parametrize(
    ("tree", "variables"),
    [
        ("project", project_variables(LONGEST_PROJECT)),
        ("example_module", {**project_variables(LONGEST_PROJECT), "module": "notes"}),
        ("module", module_variables(LONGEST_PROJECT, LONGEST_MODULE)),
    ],
)
def test_generated_python_parses_and_fits_in_100_columns_with_the_longest_names(
    tree: str, variables: dict[str, str]
) -> None:
    for file in render_tree(tree, variables):
        assert "{{" not in file.text, file.path
        if file.path.suffix != ".py":
            continue
        ast.parse(file.text, str(file.path))
        long_lines = [line for line in file.text.splitlines() if len(line) > 100]
        assert not long_lines, f"{file.path}: {long_lines}"
