"""Every file under the roots is checked or reported, and modules are found wherever declared."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dolmen.check._model import ModuleSpec
from dolmen.check._runner import run_check
from dolmen.check.exceptions import CheckConfigError
from dolmen.cli import cli

from .test_configuration import SETTINGS, project


def test_a_python_symlink_loop_is_reported_and_its_folder_still_checked(tmp_path: Path) -> None:
    root = project(tmp_path, **{"src/acme/orders/web.py": "from acme.billing import _secret\n"})
    os.symlink("loop.py", root / "src/acme/orders/loop.py")
    os.symlink("gone.py", root / "src/acme/orders/dangling.py")
    found = sorted((v.rule, v.path, v.message) for v in run_check(root).violations)
    assert found == [
        ("parse-error", "src/acme/orders/dangling.py",
         "this file cannot be opened: No such file or directory; fix or remove it so that it "
         "can be checked"),
        ("parse-error", "src/acme/orders/loop.py",
         "this file cannot be opened: Too many levels of symbolic links; fix or remove it so "
         "that it can be checked"),
        ("private-import", "src/acme/orders/web.py", found[2][2]),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, ["check", str(root)])
    assert result.exit_code == 1
    assert "src/acme/orders/loop.py:1:1: parse-error:" in result.stdout


@pytest.mark.parametrize(
    ("declaration", "name"),
    [
        ("from dolmen import Module\n\nmodule = Module('orders', depends_on=['billing'])\n",
         "declaration.py"),
        ("from dolmen.modules import Module as M\n\norders = M('orders', depends_on=['billing'])\n",
         "wiring.py"),
        ("import dolmen\n\nmodule = dolmen.Module('orders', depends_on=['billing'])\n",
         "setup.py"),
    ],
)  # fmt: skip
def test_modules_are_found_wherever_module_is_declared(
    tmp_path: Path, declaration: str, name: str
) -> None:
    root = project(
        tmp_path,
        SETTINGS,
        **{
            f"src/acme/orders/{name}": declaration,
            "src/acme/billing/here.py": "from dolmen import Module\nm = Module('billing')\n",
            "src/acme/orders/service.py": "from acme.billing.gateway import charge\n",
            "src/acme/billing/gateway.py": "",
        },
    )
    report = run_check(root)
    assert {(m.name, m.package, m.depends_on) for m in report.project.modules} == {
        ("orders", "acme.orders", ("billing",)),
        ("billing", "acme.billing", ()),
    }
    assert [(v.rule, v.path) for v in report.violations] == [
        ("private-import", "src/acme/orders/service.py")
    ]


def test_a_module_call_of_another_library_is_no_declaration(tmp_path: Path) -> None:
    torch = "import dolmen_like\nfrom torch.nn import Module\n\nnet = Module('orders')\n"
    project(tmp_path, SETTINGS, **{"src/acme/orders/net.py": torch})
    with pytest.raises(CheckConfigError, match="no modules to check"):
        run_check(tmp_path)


def test_a_declaration_that_cannot_be_read_says_where(tmp_path: Path) -> None:
    broken = "from dolmen import Module\n\nmodule = Module('orders', depends_on=[\n"
    project(tmp_path, SETTINGS, **{"src/acme/orders/module.py": broken})
    with pytest.raises(CheckConfigError, match=r"src/acme/orders/module.py:3: cannot read"):
        run_check(tmp_path)


def test_binary_and_undecodable_files_are_reported_not_read_as_empty(tmp_path: Path) -> None:
    root = project(tmp_path, **{"src/acme/orders/web.py": "from acme.billing import _secret\n"})
    (root / "src/acme/orders/blob.py").write_bytes(b"import os\n\x00\x01\x02")
    (root / "src/acme/orders/latin.py").write_bytes(b"import os\nname = '\xe9t\xe9'\n")
    found = {v.path: (v.rule, v.line) for v in run_check(root).violations}
    assert found["src/acme/orders/blob.py"] == ("parse-error", 2)
    assert found["src/acme/orders/latin.py"] == ("parse-error", 2)
    assert found["src/acme/orders/web.py"][0] == "private-import"


def age(root: Path, seconds: float = 3600) -> None:
    """Make every file and folder look ``seconds`` old (fresh ones are never cached)."""
    when = time.time() - seconds
    for folder, _, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(folder, name), (when, when))
        os.utime(folder, (when, when))


def test_files_unchanged_since_the_last_run_are_not_read_again_for_modules(
    shop_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dolmen.check import _discovery

    age(shop_copy)
    first = run_check(shop_copy).project.modules
    read: list[str] = []
    real = _discovery._declarations

    def counted(data: bytes, relative: str, dotted: str) -> Iterator[ModuleSpec]:
        read.append(relative)
        return real(data, relative, dotted)

    monkeypatch.setattr(_discovery, "_declarations", counted)
    assert run_check(shop_copy).project.modules == first
    assert read == []
    declaring = next(shop_copy.rglob("module.py"))
    declaring.write_text(declaring.read_text() + "\n")
    assert run_check(shop_copy).project.modules == first
    assert read == [str(declaring.relative_to(shop_copy))]
    assert run_check(shop_copy, use_cache=False).project.modules == first
    assert len(read) > 1  # without the cache, every declaring file is read
