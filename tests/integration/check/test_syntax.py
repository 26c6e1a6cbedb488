"""A file Python cannot parse gets the same verdict from worker processes as from one.

PARALLEL_FROM is lowered from 400 files to one, so the small codebase here goes through the
worker processes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.check.test_configuration import project
from tests.unit.check.test_syntax import parse_errors


@pytest.mark.parametrize("use_cache", [True, False])
def test_the_verdict_is_the_same_from_the_cache_and_in_several_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_cache: bool
) -> None:
    from dolmen.check import _cache

    project(tmp_path, **{"src/acme/orders/bad.py": "if True\n    pass\n"})
    first = parse_errors(tmp_path, use_cache=use_cache)
    monkeypatch.setattr(_cache, "PARALLEL_FROM", 1)
    assert parse_errors(tmp_path, use_cache=use_cache) == first
    assert (
        parse_errors(tmp_path, use_cache=False)
        == first
        == [("src/acme/orders/bad.py", 1, first[0][2])]
    )
