"""Typed keys, as mypy sees them: what you get is the key's type; a wrong factory is an error.

One mypy run checks a snippet whose lines say what mypy must report about them: ``# R: T``
for a revealed type, ``# E: code`` for an error, nothing for a clean line. Third-party
packages are skipped (seen as Any), so the run takes a second or two.
"""

from __future__ import annotations

import re
import textwrap

import pytest

mypy_api = pytest.importorskip("mypy.api")

SNIPPET = """
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

from dolmen.di import Container, Lifetime, ServiceScope, provide, provide_value
from dolmen.modules._work import Work


class CatalogService(Protocol):
    async def price(self, sku: str) -> int: ...


class Catalog:
    def __init__(self, rate: int) -> None:
        self.rate = rate

    async def price(self, sku: str) -> int:
        return self.rate


class Clock:
    pass


async def make_catalog() -> Catalog:
    return Catalog(1)


async def open_catalog() -> AsyncIterator[Catalog]:
    yield Catalog(1)


def scratch_clock() -> Iterator[Clock]:
    yield Clock()


async def use(work: Work, container: Container, scope: ServiceScope) -> None:
    reveal_type(await work.get(CatalogService))  # R: CatalogService
    reveal_type(await work.get(Clock, module="billing"))  # R: Clock
    reveal_type(await container.resolve(CatalogService, "orders", None))  # R: CatalogService
    reveal_type(await scope.get(Clock, "orders"))  # R: Clock
    reveal_type(await work.get(int | None))  # R: int | None


reveal_type(provide(CatalogService, Catalog, public=True))  # R: Provider[CatalogService]
reveal_type(provide(Clock))  # R: Provider[Clock]
reveal_type(provide(CatalogService, make_catalog))  # R: Provider[CatalogService]
reveal_type(provide(CatalogService, open_catalog))  # R: Provider[CatalogService]
reveal_type(provide(Clock, scratch_clock, lifetime=Lifetime.APP))  # R: Provider[Clock]
reveal_type(provide(CatalogService, lambda: Catalog(2)))  # R: Provider[CatalogService]
reveal_type(provide_value(Clock, Clock()))  # R: Provider[Clock]
provide(CatalogService, Clock)  # E: arg-type
provide(CatalogService, scratch_clock)  # E: arg-type
provide(Clock, make_catalog)  # E: arg-type
provide(int, lambda: "a string")  # E: arg-type return-value
provide(CatalogService)  # E: type-abstract
"""

CONFIG = """
[mypy]
strict = True
follow_imports = skip
show_error_codes = True
[mypy-dolmen.di.*]
follow_imports = silent
[mypy-dolmen.modules._work]
follow_imports = silent
"""


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[str]]:
    """What mypy reports about each line of the snippet."""
    folder = tmp_path_factory.mktemp("typed_keys")
    (folder / "mypy.ini").write_text(CONFIG)
    snippet = folder / "snippet.py"
    snippet.write_text(textwrap.dedent(SNIPPET))
    out, err, _ = mypy_api.run(
        [
            "--config-file",
            str(folder / "mypy.ini"),
            "--cache-dir",
            str(folder / "cache"),
            str(snippet),
        ]
    )
    assert not err, err
    lines: dict[int, list[str]] = {}
    for match in re.finditer(
        r"^snippet\.py:(\d+): (\w+): (.*)$", out.replace(str(folder) + "/", ""), re.M
    ):
        lines.setdefault(int(match[1]), []).append(f"{match[2]}: {match[3]}")
    return lines


def expectations() -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(textwrap.dedent(SNIPPET).splitlines(), start=1):
        comment = re.search(r"# ([RE]): (.*)$", line)
        if comment:
            found.append((number, f"{comment[1]}: {comment[2]}"))
    return found


@pytest.mark.parametrize(("line", "expected"), expectations())
def test_mypy_sees_the_key_type(reported: dict[int, list[str]], line: int, expected: str) -> None:
    source = textwrap.dedent(SNIPPET).splitlines()[line - 1].strip()
    messages = reported.get(line, [])
    kind, _, what = expected.partition(": ")
    if kind == "R":
        revealed = [m for m in messages if m.startswith("note: Revealed type is")]
        assert len(revealed) == 1, (source, messages)
        shown = re.sub(r"\b[\w.]+\.(\w+)", r"\1", revealed[0].split('"')[1])
        assert shown == what, (source, messages)
        assert not [m for m in messages if m.startswith("error")], (source, messages)
    else:
        codes = sorted(
            re.findall(r"\[([\w-]+)\]$", m)[0] for m in messages if m.startswith("error")
        )
        assert codes == sorted(what.split()), (source, messages)


def test_lines_without_expectations_are_clean(reported: dict[int, list[str]]) -> None:
    expected = {line for line, _ in expectations()}
    assert {line: m for line, m in reported.items() if line not in expected} == {}
