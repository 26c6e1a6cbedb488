"""A library's public API is its package's own names: ``public = ["__init__"]``.

And a project may keep its check settings in a folder of their own, with roots outside it
(Dolmen checks itself from ci/self-check with ``roots = ["../../src"]``).
"""

from __future__ import annotations

from pathlib import Path

from dolmen.check._runner import run_check

from .test_configuration import project

LIBRARY = """
[[tool.dolmen.check.modules]]
name = "orders"
package = "acme.orders"
depends_on = ["billing"]

[[tool.dolmen.check.modules]]
name = "billing"
package = "acme.billing"
public = ["__init__"]
"""


def test_names_exported_by_the_package_are_public_and_its_submodules_private(
    tmp_path: Path,
) -> None:
    project(
        tmp_path,
        '[tool.dolmen.check]\nroots = ["src"]\n' + LIBRARY,
        **{
            "src/acme/billing/__init__.py": "from acme.billing._gateway import charge\n",
            "src/acme/billing/_gateway.py": "def charge(): ...\n",
            "src/acme/orders/service.py": (
                "from acme.billing import charge\n"
                "import acme.billing\n"
                "from acme.billing._gateway import charge as raw\n"
            ),
        },
    )
    report = run_check(tmp_path, use_cache=False)
    assert [(v.rule, v.line) for v in report.violations] == [("private-import", 3)]
    assert "import from its public API (acme.billing) instead" in report.violations[0].message


def test_roots_outside_the_project_folder_are_checked_and_shown_from_it(
    tmp_path: Path,
) -> None:
    project(
        tmp_path,
        None,
        **{"src/acme/orders/service.py": "from acme.billing._gateway import charge\n"},
    )
    settings = tmp_path / "ci" / "self-check"
    settings.mkdir(parents=True)
    settings.joinpath("pyproject.toml").write_text(
        '[tool.dolmen.check]\nroots = ["../../src"]\n' + LIBRARY
    )
    report = run_check(settings)
    assert [(v.rule, v.path, v.line) for v in report.violations] == [
        ("private-import", "../../src/acme/orders/service.py", 1)
    ]
    again = run_check(settings)  # from the caches this time
    assert [(v.rule, v.path) for v in again.violations] == [
        ("private-import", "../../src/acme/orders/service.py")
    ]
