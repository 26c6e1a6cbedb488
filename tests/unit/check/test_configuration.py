"""A wrong configuration, or nothing to check, is an error (exit 2), never a silent pass.

Through the command (a process each): tests/e2e/check/test_configuration.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dolmen.check._runner import run_check
from dolmen.check.exceptions import CheckConfigError

SETTINGS = '[tool.dolmen.check]\nroots = ["src"]\n'
MODULES = """
[[tool.dolmen.check.modules]]
name = "orders"
package = "acme.orders"
depends_on = ["billing"]

[[tool.dolmen.check.modules]]
name = "billing"
package = "acme.billing"
"""
FILES = {
    "src/acme/__init__.py": "",
    "src/acme/orders/__init__.py": "",
    "src/acme/orders/service.py": "from acme.billing.api import charge\n",
    "src/acme/billing/__init__.py": "",
    "src/acme/billing/api.py": "def charge(): ...\n",
}


def project(root: Path, pyproject: str | None = SETTINGS + MODULES, **files: str) -> Path:
    """A small codebase in ``root``: FILES, replaced or added to by ``files`` ("a/b.py")."""
    if pyproject is not None:
        root.joinpath("pyproject.toml").write_text(pyproject)
    for name, text in {**FILES, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def problems(root: Path) -> str:
    with pytest.raises(CheckConfigError) as raised:
        run_check(root)
    return str(raised.value)


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        ('depends_on = ["billing"]', 'depend_on = ["billing"]',
         "unknown key 'depend_on' in [[tool.dolmen.check.modules]] entry 1 (pyproject.toml:5) "
         "(did you mean 'depends_on'?)"),
        ('depends_on = ["billing"]', 'depends_on = "billing"',
         "depends_on must be a list of strings like [\"billing\"], got a string ('billing')"),
        ('roots = ["src"]', 'roots = "src"',
         "roots must be a list of strings like [\"src\"], got a string ('src')"),
        ('roots = ["src"]', 'roots = ["src", "lib"]',
         "[tool.dolmen.check] roots names 'lib', which is not a folder in"),
        ('roots = ["src"]', 'roots = ["src"]\nforbidden = { domain = "sqlalchemy" }',
         "[tool.dolmen.check] forbidden.domain must be a list of strings like [\"sqlalchemy\"]"),
        ('roots = ["src"]', 'roots = ["src"]\ntype-checking-imports = "false"',
         "type-checking-imports must be true or false (no quotes), got a string ('false')"),
        ('roots = ["src"]', 'roots = ["src"]\nunused_dependencies = true',
         "unknown key 'unused_dependencies' in [tool.dolmen.check] "
         "(did you mean 'unused-dependencies'?)"),
        ('roots = ["src"]', 'roots = ["src"]\nselect = ["private-imports"]',
         "select names rule 'private-imports', which does not exist "
         "(did you mean 'private-import'?)"),
        ('roots = ["src"]', 'roots = ["src"]\nignore = "parse-error"',
         "ignore must be a list of strings like [\"parse-error\"]"),
        ('roots = ["src"]', 'roots = ["src"]\nlayers = ["web -> domain", "domain -> web"]',
         "the layer chains make a cycle (domain -> web -> domain)"),
        ('roots = ["src"]', 'roots = ["src"]\nmodule-layers = ["orders", "billing"]',
         "each group of [tool.dolmen.check] module-layers must be a list of strings"),
        ('package = "acme.billing"', 'package = "acme.biling"',
         "module 'billing' (pyproject.toml:10) is on package 'acme.biling', which has no "
         "Python file under the roots (src)"),
        ('package = "acme.billing"', 'package = "acme.orders"',
         "modules 'orders' (pyproject.toml:5) and 'billing' (pyproject.toml:10) are all on "
         "package 'acme.orders'"),
        ('package = "acme.billing"', 'package = "acme.billing"\npublic = ["interface"]',
         "module 'billing' (pyproject.toml:10) names public part 'interface', but "
         "acme.billing.interface does not exist"),
        ("[tool.dolmen.check]", "[tool.dolmen]\napp_dir = 'src'\n\n[tool.dolmen.check]",
         "unknown key 'app_dir' in [tool.dolmen] (did you mean 'app-dir'?)"),
    ],
)  # fmt: skip
def test_every_wrong_setting_is_an_error_that_says_what_to_write(
    tmp_path: Path, before: str, after: str, message: str
) -> None:
    root = project(tmp_path)
    pyproject = root / "pyproject.toml"
    assert before in pyproject.read_text()
    pyproject.write_text(pyproject.read_text().replace(before, after, 1))
    assert message in problems(root)


def test_roots_without_python_files_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(SETTINGS + MODULES)
    (tmp_path / "src").mkdir()
    assert "no Python files to check under the roots (src)" in problems(tmp_path)


def test_a_codebase_without_modules_is_an_error(tmp_path: Path) -> None:
    project(tmp_path, SETTINGS)
    message = problems(tmp_path)
    assert "no modules to check: pyproject.toml has no [[tool.dolmen.check.modules]]" in message
    assert "none of the 5 Python files under the roots (src) declares a Module(...)" in message
