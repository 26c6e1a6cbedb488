"""The shop's OpenAPI document tells the truth: schemathesis finds nothing, on both databases.

Schemathesis reads ``/openapi.json`` of a served shop (a fresh database each time), sends
requests generated from it (valid ones, boundary values, and invalid ones) and checks every
answer against the document: no 500, every status and media type declared, every body in its
schema, invalid input refused with a 4xx and valid input not refused with a 422. A bounded
number of examples per route keeps each run under a minute; the seed is fixed so a failure
reproduces (``st replay`` or the ``curl`` line it prints).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import fresh_postgres_database

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchShop, ShopServer

MAX_EXAMPLES = 40  # per route and phase; about 20 s per database on a 2-core machine
SEED = 20_241_212
RUN_TIMEOUT = 300.0


def _schemathesis() -> str:
    command = Path(sys.executable).with_name("schemathesis")
    if not command.is_file():
        pytest.skip("schemathesis is not installed; run: pip install -e '.[dev]'")
    return str(command)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_shop(request: pytest.FixtureRequest, launch_shop: LaunchShop) -> Iterator[ShopServer]:
    """A shop on a fresh database of each kind, for schemathesis alone."""
    if request.param == "sqlite":
        with launch_shop() as server:
            yield server
        return
    with fresh_postgres_database("dolmen_fuzz") as url, launch_shop(url) as server:
        yield server


def test_schemathesis_finds_nothing_wrong_with_the_shop(
    fresh_shop: ShopServer, tmp_path: Path
) -> None:
    command = [
        _schemathesis(), "run", f"{fresh_shop.url}/openapi.json",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--no-color",
    ]  # fmt: skip

    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )

    assert run.returncode == 0, f"schemathesis found problems:\n{run.stdout}\n{run.stderr}"
    generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert generated, run.stdout
    assert int(generated[1]) == int(generated[2]) >= 100, run.stdout
