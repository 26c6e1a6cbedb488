"""dolmen check's caches: plain data in one format and one version; a corrupt one is discarded."""

from __future__ import annotations

import logging
import marshal
import os
from pathlib import Path

import pytest

from dolmen.check._files import CACHE_VERSION
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
    assert [f.name for f in files] == ["check-imports.marshal", "check-results.marshal"]
    for file in files:
        assert marshal.loads(file.read_bytes())[0] == CACHE_VERSION
    assert violations_of(root) == first  # answered from the results cache


@pytest.mark.parametrize("name", ["check-imports.marshal", "check-results.marshal"])
def test_a_corrupt_cache_file_is_discarded_with_a_warning(
    tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    root = project(tmp_path, **{"src/acme/orders/web.py": "from acme.billing import _secret\n"})
    settle(root)
    expected = violations_of(root)
    cache = root / ".dolmen_cache"
    if name == "check-imports.marshal":
        (cache / "check-results.marshal").unlink()  # else the last run's results answer
    (cache / name).write_bytes(b"\x00garbage, not marshal data")
    with caplog.at_level(logging.WARNING, logger="dolmen.check"):
        assert violations_of(root) == expected
    assert [r.getMessage() for r in caplog.records if name in r.getMessage()], caplog.text
    assert marshal.loads((root / ".dolmen_cache" / name).read_bytes())[0] == CACHE_VERSION
