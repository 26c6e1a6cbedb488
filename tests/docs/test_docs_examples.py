"""The documentation's examples run, so they cannot drift from the code.

Every fenced block whose info string is ``python`` in ``docs/*.md`` is a complete program: it
runs in a process of its own (warnings as errors, the repository's ``examples/`` folder on the
import path, a temporary folder as working directory) and must exit with status 0. The process
is forked from an interpreter that imported Dolmen's dependencies once
(:mod:`tests.preloaded_python`): what a fresh ``python -W error example.py`` is once it
imported them, without paying for the imports a hundred times. Blocks
marked ``python fragment`` are excerpts and are not run; blocks marked ``python postgres``
run against a fresh PostgreSQL database, passed in ``DOLMEN_DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.preloaded_python import PreloadedPython

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
EXAMPLES = REPO / "examples"
TIMEOUT_SECONDS = 120

# The pages of the user documentation; each must carry at least one runnable example.
DOCUMENTED_PAGES = (
    "index.md",
    "modules.md",
    "dependency-injection.md",
    "http.md",
    "persistence.md",
    "migrations.md",
    "events.md",
    "cli.md",
    "dependencies.md",
    "configuration.md",
    "check.md",
    "extensions.md",
    "observability.md",
    "dashboard.md",
    "new.md",
    "units.md",
)

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
MARKS = {"fragment", "postgres"}  # the words that may follow ``python`` in an info string
LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")


@dataclass(frozen=True)
class CodeBlock:
    """A fenced code block of a documentation page."""

    page: str
    line: int  # the line of the opening fence, counted from 1
    info: tuple[str, ...]
    code: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.info[:1] == ("python",) and "fragment" not in self.info

    @property
    def needs_postgres(self) -> bool:
        return "postgres" in self.info


def code_blocks(page: Path) -> list[CodeBlock]:
    """The fenced code blocks of ``page``, in order (indented ones, in lists, dedented)."""
    blocks: list[CodeBlock] = []
    opening: tuple[str, str, int, tuple[str, ...]] | None = None
    body: list[str] = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        match = FENCE.match(line)
        if opening is None:
            if match:
                opening = (match["indent"], match["fence"], number, tuple(match["info"].split()))
                body = []
            continue
        indent, fence, start, info = opening
        if match and match["fence"].startswith(fence) and not match["info"].strip():
            blocks.append(CodeBlock(page.name, start, info, "\n".join(body) + "\n"))
            opening = None
        else:
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
    if opening is not None:
        raise ValueError(f"{page.name}:{opening[2]}: code block is never closed")
    return blocks


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


def runnable_blocks() -> list[CodeBlock]:
    return [block for page in pages() for block in code_blocks(page) if block.runnable]


def example_params() -> list[object]:
    params: list[object] = []
    for block in runnable_blocks():
        marks = [pytest.mark.postgres] if block.needs_postgres else []
        params.append(pytest.param(block, id=block.id, marks=marks))
    return params


def example_environment(database_url: str | None) -> dict[str, str]:
    """The environment of an example: no DOLMEN_* settings leak in, and ``dolmen`` is on PATH."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("DOLMEN_")}
    # The examples start their apps on fresh databases with the tables created from the
    # modules' declarations, as in development (see docs/migrations.md); those about
    # migrations set [app] database_schema themselves.
    env["DOLMEN__APP__DATABASE_SCHEMA"] = "create"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(EXAMPLES), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if database_url is not None:
        env["DOLMEN_DATABASE_URL"] = database_url
    return env


@pytest.fixture(scope="module")
def interpreter() -> Iterator[PreloadedPython]:
    """``python -W error`` for the examples, forked from one preloaded interpreter."""
    started = PreloadedPython(["-W", "error"], example_environment(None))
    try:
        yield started
    finally:
        started.close()


def run_python(
    interpreter: PreloadedPython,
    block: CodeBlock,
    args: list[str],
    cwd: Path,
    database_url: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -W error ARGS`` in ``cwd``, as the examples run; fails on a non-zero exit."""
    try:
        result = interpreter.run(args, cwd, example_environment(database_url), TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.id}: the example did not finish in {TIMEOUT_SECONDS} s")
    assert result.returncode == 0, (
        f"{block.id}: the example exited with status {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    )
    return result


@pytest.mark.parametrize("block", example_params())
def test_example_runs(
    block: CodeBlock, tmp_path: Path, request: pytest.FixtureRequest, interpreter: PreloadedPython
) -> None:
    database_url = request.getfixturevalue("postgres_url") if block.needs_postgres else None
    script = tmp_path / "example.py"
    script.write_text(block.code, encoding="utf-8")
    run_python(interpreter, block, [str(script)], tmp_path, database_url)


def readme_examples() -> list[CodeBlock]:
    return [block for block in code_blocks(REPO / "README.md") if block.runnable]


@pytest.mark.parametrize("block", readme_examples(), ids=lambda block: block.id)
def test_a_readme_example_runs_only_as_a_script_and_leaves_nothing(
    block: CodeBlock, tmp_path: Path, interpreter: PreloadedPython
) -> None:
    (tmp_path / "example").mkdir()
    (tmp_path / "example" / "hello.py").write_text(block.code, encoding="utf-8")
    cwd = tmp_path / "cwd"
    cwd.mkdir()

    imported = run_python(
        interpreter,
        block,
        ["-c", "import sys; sys.path.insert(0, '../example'); import hello"],
        cwd,
    )
    assert imported.stdout + imported.stderr == "", "importing the example ran something"
    assert list(cwd.iterdir()) == [], "importing the example left files behind"

    run_python(interpreter, block, ["../example/hello.py"], cwd)
    assert list(cwd.iterdir()) == [], "the example left files in the working directory"


@pytest.mark.parametrize("name", DOCUMENTED_PAGES)
def test_every_page_has_a_runnable_example(name: str) -> None:
    page = DOCS / name
    assert page.is_file(), f"docs/{name} is missing"
    assert any(block.runnable for block in code_blocks(page)), f"docs/{name} runs no example"


def test_code_blocks_say_whether_they_run() -> None:
    unclear = [
        block.id
        for page in pages()
        for block in code_blocks(page)
        if block.info[:1] in (("py",), ("python3",))
        or (block.info[:1] == ("python",) and not set(block.info[1:]) <= MARKS)
    ]
    assert not unclear, (
        f"mark Python blocks 'python', 'python fragment' or 'python postgres': {unclear}"
    )


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def prose(page: Path) -> list[str]:
    """The lines of ``page`` outside fenced code blocks."""
    inside_code = False
    lines = []
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            inside_code = not inside_code
        elif not inside_code:
            lines.append(line)
    return lines


def anchors(page: Path) -> set[str]:
    return {github_anchor(line.lstrip("#")) for line in prose(page) if line.startswith("#")}


def is_broken(page: Path, target: str) -> bool:
    """Whether a relative link of ``page`` misses its file or, in a page, its heading."""
    path, _, fragment = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page
    if not resolved.exists():
        return True
    return bool(fragment) and resolved.suffix == ".md" and fragment not in anchors(resolved)


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_relative_links_resolve(page: Path) -> None:
    links = [match["target"] for match in LINK.finditer("\n".join(prose(page)))]
    broken = [t for t in links if not re.match(r"^[a-z]+:", t) and is_broken(page, t)]
    assert not broken, f"broken links in docs/{page.name}: {broken}"
