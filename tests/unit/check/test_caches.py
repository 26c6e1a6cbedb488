"""dolmen check's caches: plain data in one format and one version; a corrupt one is discarded."""

from __future__ import annotations

import logging
import marshal
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dolmen.check import _runner
from dolmen.check._files import CACHE_VERSION
from dolmen.check._rules import SourceFile, check_files
from dolmen.check._runner import run_check

from .test_configuration import project


def violations_of(root: Path) -> list[tuple[str, str, int]]:
    return sorted((v.rule, v.path, v.line) for v in run_check(root).violations)


def settle(root: Path) -> None:
    """Date the files back 10 s: the check trusts no file changed in the last 2 s to a cache."""
    for path in root.rglob("*.py"):
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns - 10**10, stat.st_mtime_ns - 10**10))


def test_every_cache_file_is_marshal_data_of_one_version_never_pickle(tmp_path: Path) -> None:
    root = project(tmp_path, **{"src/acme/orders/web.py": "from acme.billing import _secret\n"})
    settle(root)
    first = violations_of(root)
    files = sorted((root / ".dolmen_cache").glob("check-*"))
    assert [f.name for f in files] == [
        "check-files.marshal",
        "check-imports.marshal",
        "check-results.marshal",
    ]
    for file in files:
        assert marshal.loads(file.read_bytes())[0] == CACHE_VERSION
    assert violations_of(root) == first  # answered from the results cache


@pytest.mark.parametrize(
    "name", ["check-files.marshal", "check-imports.marshal", "check-results.marshal"]
)
def test_a_corrupt_cache_file_is_discarded_with_a_warning(
    tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    root = project(tmp_path, **{"src/acme/orders/web.py": "from acme.billing import _secret\n"})
    settle(root)
    expected = violations_of(root)
    cache = root / ".dolmen_cache"
    if name != "check-results.marshal":
        (cache / "check-results.marshal").unlink()  # else the last run's results answer
    if name == "check-imports.marshal":
        (cache / "check-files.marshal").unlink()  # else no file is read again
    (cache / name).write_bytes(b"\x00garbage, not marshal data")
    with caplog.at_level(logging.WARNING, logger="dolmen.check"):
        assert violations_of(root) == expected
    assert [r.getMessage() for r in caplog.records if name in r.getMessage()], caplog.text
    assert marshal.loads((root / ".dolmen_cache" / name).read_bytes())[0] == CACHE_VERSION


def found_by(
    root: Path, *, use_cache: bool
) -> tuple[list[tuple[str, str, str, str]], list[list[str]]]:
    report = run_check(root, use_cache=use_cache)
    assert report.findings is not None
    rows = sorted((v.rule, v.path, str(v.line), v.message) for v in report.violations)
    return rows, report.findings.cycles


@pytest.mark.parametrize(
    "edited",
    [
        "from acme.orders.service import x\nfrom acme.billing.api import charge\n",  # a cycle
        "import os\nfrom acme.billing import _secret\n",  # a violation, lines moved
        "",  # every import gone: the edge orders -> billing too
    ],
)
def test_a_run_after_an_edit_that_changes_imports_judges_that_file_alone(
    tmp_path: Path, edited: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(
        tmp_path,
        **{
            "src/acme/billing/api.py": "def charge(): ...\n",
            "src/acme/billing/tasks.py": "from acme.orders import service\n",
            "src/acme/orders/web.py": "from acme.billing.api import charge\n",
        },
    )
    settle(root)
    run_check(root)
    changed = root / "src/acme/orders/service.py"
    changed.write_text(edited)
    old = changed.stat().st_mtime_ns - 5 * 10**9  # settled, and not the time it had
    os.utime(changed, ns=(old, old))
    stored = marshal.loads((root / ".dolmen_cache" / "check-files.marshal").read_bytes())[2]
    judged: list[str] = []

    def spy(project: Any, files: Iterable[Any], *args: Any) -> Any:
        def seen() -> Iterator[Any]:
            for file in files:
                if isinstance(file, SourceFile):
                    judged.append(file.path)
                yield file

        return check_files(project, seen(), *args)

    monkeypatch.setattr(_runner, "check_files", spy)
    run_check(root)
    assert judged == ["src/acme/orders/service.py"]  # the others' findings were reused
    monkeypatch.undo()
    assert found_by(root, use_cache=True) == found_by(root, use_cache=False)
    again = marshal.loads((root / ".dolmen_cache" / "check-files.marshal").read_bytes())[2]
    assert {k: v for k, v in again.items() if k != "src/acme/orders/service.py"} == {
        k: v for k, v in stored.items() if k != "src/acme/orders/service.py"
    }


def test_a_corrupt_part_of_the_import_cache_is_discarded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = project(tmp_path, **{"src/acme/orders/web.py": "from acme.billing import _secret\n"})
    settle(root)
    expected = violations_of(root)
    cache = root / ".dolmen_cache"
    for name in ("check-results.marshal", "check-files.marshal"):
        (cache / name).unlink()  # else the files are not read again
    version, parts = marshal.loads((cache / "check-imports.marshal").read_bytes())
    broken = {index: b"\x00garbage" for index in parts}
    (cache / "check-imports.marshal").write_bytes(marshal.dumps((version, broken)))
    with caplog.at_level(logging.WARNING, logger="dolmen.check"):
        assert violations_of(root) == expected
    assert "check-imports.marshal" in caplog.text
    _, parts = marshal.loads((cache / "check-imports.marshal").read_bytes())
    assert all(isinstance(marshal.loads(part), dict) for part in parts.values())


def test_a_corrupt_entry_of_the_findings_cache_is_discarded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = project(tmp_path, **{"src/acme/orders/web.py": "from acme.billing import _secret\n"})
    settle(root)
    expected = violations_of(root)
    cache = root / ".dolmen_cache"
    (cache / "check-results.marshal").unlink()  # else the last run's results answer
    version, context, entries = marshal.loads((cache / "check-files.marshal").read_bytes())
    broken = {path: b"\x00garbage" for path in entries}
    (cache / "check-files.marshal").write_bytes(marshal.dumps((version, context, broken)))
    with caplog.at_level(logging.WARNING, logger="dolmen.check"):
        assert violations_of(root) == expected
    assert len([r for r in caplog.records if "check-files.marshal" in r.getMessage()]) == 1
    _, _, entries = marshal.loads((cache / "check-files.marshal").read_bytes())
    assert entries.keys() == broken.keys()
    assert all(isinstance(marshal.loads(entry), tuple) for entry in entries.values())
