"""``dolmen new``: a generated project, installed in a virtual environment of its own, passes
its own checks (ruff, mypy --strict, dolmen check, its tests) out of the box, serves, and still
does once a module is added.

The project's virtual environment reuses this one's packages (a ``.pth`` file adds its
site-packages), so its set-up installs only the project and Dolmen, editable, from this
checkout, as ``dolmen new project --dolmen-source`` makes it do. The names are as long as
``dolmen new`` allows, so the generated code is checked at its widest.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import REPO, answers_healthz, kill_server, start_server

PROJECT = "acme_inventory_store"  # 20 characters, the longest project name
MODULE = "supplier_price_updates_x"  # 24 characters, the longest module name
CHECKS_TIMEOUT = 300.0


def dolmen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the ``dolmen`` command of this environment."""
    command = Path(sys.executable).with_name("dolmen")
    return subprocess.run(
        [str(command), *args], cwd=cwd, env=environment(), capture_output=True, text=True,
        timeout=CHECKS_TIMEOUT, check=False,
    )  # fmt: skip


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without Dolmen's settings or this virtual environment."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DOLMEN_", "PYTHON", "VIRTUAL_ENV", "TEST_DATABASE_URL"))
    }
    return {**env, **extra}


@dataclass
class Generated:
    """The generated project, and the outputs of its checks before and after a new module."""

    root: Path
    first: subprocess.CompletedProcess[str]
    refused: subprocess.CompletedProcess[str]
    added: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]


def run_checks(root: Path) -> subprocess.CompletedProcess[str]:
    """The README's test command: ``./scripts/test`` (set up .venv, then every check)."""
    return subprocess.run(
        ["./scripts/test", "-q", "-p", "no:cacheprovider"], cwd=root, env=environment(),
        capture_output=True, text=True, timeout=CHECKS_TIMEOUT, check=False,
    )  # fmt: skip


def reuse_this_environment(root: Path) -> None:
    """A .venv for the project that sees this environment's packages (its pip, its tools)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True)
    venv_python = root / ".venv" / "bin" / "python"
    purelib = subprocess.run(
        [str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = sysconfig.get_paths()["purelib"]
    Path(purelib, "_dolmen_e2e_parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")


def reuse_this_mypy_cache(root: Path) -> None:
    """The project's mypy starts from this checkout's cache, when ./scripts/test's mypy has
    made one: the libraries both import (Dolmen's dependencies) are not analysed again.
    mypy checks each cached module's source and options and analyses again whatever differs;
    the project's own files are not in it."""
    cache = REPO / ".mypy_cache"
    if cache.is_dir():
        shutil.copytree(cache, root / ".mypy_cache")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".venv" not in p.parts and "cache" not in str(p)
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    folder = tmp_path_factory.mktemp("new")
    made = dolmen("new", "project", PROJECT, "--dolmen-source", str(REPO), cwd=folder)
    assert made.returncode == 0, made.stderr
    root = folder / PROJECT
    reuse_this_environment(root)
    reuse_this_mypy_cache(root)
    first = run_checks(root)
    before = snapshot(root)
    refused = dolmen("new", "module", "notes", cwd=root)
    assert snapshot(root) == before, "a refused module name changed the project"
    added = dolmen("new", "module", MODULE, cwd=root)
    second = run_checks(root)
    return Generated(root, first, refused, added, second)


def assert_passed(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "All checks passed!" in output  # ruff
    assert "Success: no issues found" in output  # mypy --strict
    assert "no violations" in output  # dolmen check
    assert "migrations match the tables of dolmen, notes" in output  # dolmen db check
    assert " passed" in output  # pytest
    assert "failed" not in output


def test_a_new_project_passes_its_own_checks_out_of_the_box(generated: Generated) -> None:
    assert_passed(generated.first)
    assert "7 passed" in generated.first.stdout  # its own tests, not none


def test_a_taken_module_name_is_refused_with_exit_2(generated: Generated) -> None:
    assert generated.refused.returncode == 2
    assert "module name 'notes' is taken" in generated.refused.stderr


def test_a_new_module_keeps_the_project_passing(generated: Generated) -> None:
    assert generated.added.returncode == 0, generated.added.stderr
    assert f"wrote module {MODULE!r}" in generated.added.stdout
    assert_passed(generated.second)
    assert f"migrations match the tables of dolmen, notes, {MODULE}" in generated.second.stdout
    assert "8 passed" in generated.second.stdout  # the module's test ran too


@pytest.fixture
def served(generated: Generated) -> Iterator[str]:
    """The generated project served by its own ``dolmen run``, after the module was added."""
    port = free_port()
    log = generated.root / "server.log"
    command = [str(generated.root / ".venv/bin/dolmen"), "run", f"{PROJECT}.app:app",
               "--port", str(port)]  # fmt: skip
    env = environment(DOLMEN_DATABASE_URL=f"sqlite:///{generated.root / 'served.db'}")
    subprocess.run(  # as scripts/run does: the app refuses a database behind its migrations
        [str(generated.root / ".venv/bin/dolmen"), "db", "upgrade"], cwd=generated.root,
        env=env, check=True, capture_output=True, timeout=CHECKS_TIMEOUT,
    )  # fmt: skip
    process = start_server(command, generated.root, env, log)
    try:
        url = f"http://127.0.0.1:{port}"
        assert answers_healthz(url, process), log.read_text()
        yield url
    finally:
        kill_server(process)


def test_the_new_project_serves_its_modules(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10.0) as client:
        note = client.post("/notes", json={"text": "Call the supplier"})
        assert note.status_code == 201, note.text
        assert client.get(f"/notes/{note.json()['id']}").json()["text"] == "Call the supplier"
        assert client.get(f"/{MODULE}").json() == {"module": MODULE, "status": "ready"}


@pytest.mark.postgres
def test_the_new_projects_tests_pass_on_postgresql(generated: Generated, postgres_url: str) -> None:
    result = subprocess.run(
        [str(generated.root / ".venv/bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=generated.root, env=environment(TEST_DATABASE_URL=postgres_url),
        capture_output=True, text=True, timeout=CHECKS_TIMEOUT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    assert "8 passed" in result.stdout
