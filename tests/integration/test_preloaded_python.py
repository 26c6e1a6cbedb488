"""The preloaded interpreter of the tests (tests/preloaded_python.py) runs a program as a fresh
``python`` does: its exit status, output, traceback, warnings as errors, ``sys.path``,
``__main__``, ``__future__`` flags, atexit handlers and threads, and a timeout."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.preloaded_python import PreloadedPython

Outcome = tuple[int, str, list[str]]
PROGRAMS = {
    "prints": "print('hello'); import sys; print('oops', file=sys.stderr)",
    "exits": "import sys; sys.exit(3)",
    "raises": "raise ValueError('boom')",
    "warns": "import warnings; warnings.warn('old', DeprecationWarning)",
    "annotates": "def f(x: undefined_name) -> None: ...\nprint(f.__annotations__)",
    "names": "print(__name__, sorted(globals()))",
    "paths": "import os, sys; print(sys.argv, sys.path[:2], os.getcwd(), os.environ['MARK'])",
    "at_exit": "import atexit; atexit.register(print, 'at exit')",
    "threads": (
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.2), print('joined'))).start()"
    ),
    "killed": "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
}


@pytest.fixture(scope="module")
def preloaded() -> Iterator[PreloadedPython]:
    started = PreloadedPython(["-W", "error"], dict(os.environ))
    try:
        yield started
    finally:
        started.close()


def both(
    preloaded: PreloadedPython, args: list[str], cwd: Path, env: dict[str, str]
) -> tuple[Outcome, Outcome]:
    """What ``args`` did run by ``preloaded``, and by a fresh ``python -W error``: the exit
    status, the output and the last line of the error output (a traceback's error: the
    preloaded interpreter's own frames come before the program's)."""
    forked = preloaded.run(args, cwd, env, 60)
    fresh = subprocess.run(
        [sys.executable, "-W", "error", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    return (
        (forked.returncode, forked.stdout, forked.stderr.splitlines()[-1:]),
        (fresh.returncode, fresh.stdout, fresh.stderr.splitlines()[-1:]),
    )


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_program_does_what_it_does_in_a_fresh_interpreter(
    preloaded: PreloadedPython, name: str, tmp_path: Path
) -> None:
    (tmp_path / "lib").mkdir()
    script = tmp_path / f"{name}.py"
    script.write_text(PROGRAMS[name], encoding="utf-8")
    env = {**os.environ, "MARK": name, "PYTHONPATH": "lib"}
    forked, fresh = both(preloaded, [str(script), "an argument"], tmp_path, env)
    assert forked == fresh


def test_a_command_line_program_gets_its_arguments_and_the_current_folder_first(
    preloaded: PreloadedPython, tmp_path: Path
) -> None:
    code = "import os, sys; print(sys.argv, sys.path[:2], sorted(globals()), os.environ['MARK'])"
    env = {**os.environ, "MARK": "set", "PYTHONPATH": str(tmp_path)}
    forked, fresh = both(preloaded, ["-c", code, "check", "--json"], tmp_path, env)
    assert forked == fresh
    assert forked[1].startswith(f"['-c', 'check', '--json'] ['', '{tmp_path}'] ['__annotations__'")


def test_a_program_that_outlives_its_timeout_is_killed_and_the_next_runs(
    preloaded: PreloadedPython, tmp_path: Path
) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        preloaded.run(["-c", "import time; time.sleep(60)"], tmp_path, dict(os.environ), 0.5)
    assert preloaded.run(["-c", "print(1)"], tmp_path, dict(os.environ), 60).stdout == "1\n"


def test_a_different_start_up_variable_gets_a_fresh_interpreter(
    preloaded: PreloadedPython, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        env.pop("PYTHONDONTWRITEBYTECODE")
    assert not preloaded.fits(env)
    code = "import sys; print(sys.flags.dont_write_bytecode)"
    ran = preloaded.run(["-c", code], tmp_path, env, 60)
    assert ran.stdout == f"{int('PYTHONDONTWRITEBYTECODE' in env)}\n"
