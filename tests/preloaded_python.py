"""Python programs run in processes forked from an interpreter that imported Dolmen's
dependencies once, instead of fresh interpreters that each import them again.

The documentation's examples (``python -W error example.py``) and the ``dolmen`` commands of
the CLI tests (``python -c "from dolmen.cli import main; main()" ARGS``) each ran in a fresh
interpreter, most of whose time (0.8 s of CPU, a hundred times and more) went to importing
FastAPI, SQLAlchemy and pydantic. :class:`PreloadedPython` starts this file as a script once,
with the interpreter options the programs need (``-W error``, or none); the script imports
:data:`PRELOADED`, then reads requests from its standard input, one JSON object per line, and
forks for each. The child becomes that program: its working directory, environment,
``sys.argv``, ``sys.path`` (``sys.path[0]`` and ``PYTHONPATH`` as Python computes them at
start-up), output files and a fresh ``__main__``; it runs the code (compiled without
inheriting this file's ``__future__`` flags) and ends as the interpreter ends any program,
atexit handlers, thread joins, exit status and traceback included. The parent kills a child
that outlives its timeout, and answers with its exit status.

Only modules that do nothing but define things when imported are loaded beforehand (Dolmen
reads no configuration and opens nothing at import time), so a child starts in the state a
fresh interpreter reaches after importing them. The programs' own modules (``examples/``, a
test's project) are never imported here: each child imports them anew. A program whose
environment changes a ``PYTHON*`` variable read at start-up (other than ``PYTHONPATH``), or
that starts while another runs, gets a fresh interpreter, as before.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PRELOADED = (
    "click",
    "dolmen.cli",
    "dolmen.di",
    "dolmen.events",
    "dolmen.http",
    "dolmen.modules",
    "dolmen.persistence",
    "fastapi",
    "httpx",
    "pydantic_settings",
    "sqlalchemy.ext.asyncio",
)
"""What the interpreter imports before it forks: most of a program's start-up time."""


class PreloadedPython:
    """``python FLAGS ...`` run in processes forked from one preloaded interpreter."""

    def __init__(self, flags: Sequence[str], env: Mapping[str, str]) -> None:
        self.flags = list(flags)
        self.env = dict(env)
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, *self.flags, __file__],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def fits(self, env: Mapping[str, str]) -> bool:
        """Whether a program with ``env`` would start as this interpreter did."""

        def start_up(variables: Mapping[str, str]) -> dict[str, str]:
            return {k: v for k, v in variables.items() if k.startswith("PYTHON")} | {
                "PYTHONPATH": ""
            }

        return start_up(env) == start_up(self.env)

    def run(
        self, args: Sequence[str], cwd: Path | str, env: Mapping[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """``python FLAGS ARGS`` in ``cwd`` with ``env``, as :func:`subprocess.run` with
        ``capture_output=True, text=True, timeout=timeout`` runs it (raising
        :class:`subprocess.TimeoutExpired` once the program, killed, has ended)."""
        command = [sys.executable, *self.flags, *args]
        if not self.fits(env) or not self._lock.acquire(blocking=False):
            return subprocess.run(
                command, cwd=cwd, env=dict(env), capture_output=True, text=True,
                timeout=timeout, check=False,
            )  # fmt: skip
        try:
            return self._forked(command, args, cwd, env, timeout)
        finally:
            self._lock.release()

    def _forked(
        self,
        command: list[str],
        args: Sequence[str],
        cwd: Path | str,
        env: Mapping[str, str],
        timeout: float,
    ) -> subprocess.CompletedProcess[str]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        with tempfile.TemporaryDirectory() as outputs:
            paths = {name: os.path.join(outputs, name) for name in ("stdout", "stderr")}
            request = {"argv": list(args), "cwd": str(cwd), "env": dict(env), **paths}
            stdin.write(json.dumps({**request, "timeout": timeout}) + "\n")
            stdin.flush()
            line = stdout.readline()
            if not line:
                raise RuntimeError(f"the preloaded interpreter ended ({self.process.wait()})")
            answer = json.loads(line)
            out, err = (Path(paths[name]).read_text(encoding="utf-8") for name in paths)
        if answer["timed_out"]:
            raise subprocess.TimeoutExpired(command, timeout, out, err)
        return subprocess.CompletedProcess(command, answer["status"], out, err)

    def close(self) -> None:
        """Let the interpreter end (no program runs any more)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(60)
        self.process.stdout.close()


def serve() -> dict[str, Any]:
    """Answer requests until standard input closes; in a child, return its request."""
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            return dict(request)
        print(json.dumps(wait_for(pid, request["timeout"])), flush=True)
    raise SystemExit(0)


def wait_for(pid: int, timeout: float) -> dict[str, Any]:
    """The exit status of child ``pid``, killed if it has not ended within ``timeout``."""
    ended = os.pidfd_open(pid)
    try:
        timed_out = not select.select([ended], [], [], timeout)[0]
    finally:
        os.close(ended)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return {"status": os.waitstatus_to_exitcode(status), "timed_out": timed_out}


def python_path(variable: str | None) -> list[str]:
    """The ``sys.path`` entries a ``PYTHONPATH`` of ``variable`` adds, as Python makes them."""
    if not variable:
        return []
    return [os.path.abspath(entry) for entry in variable.split(os.pathsep)]


def run(request: dict[str, Any], base_path: list[str]) -> None:
    """Turn this child into the program ``request`` asks for, and run it."""
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    argv: list[str] = request["argv"]
    if argv[0] == "-c":
        first, sys.argv = "", ["-c", *argv[2:]]
        code = compile(argv[1], "<string>", "exec", dont_inherit=True)
        identity: dict[str, Any] = {}
    else:
        path = os.path.abspath(argv[0])
        first, sys.argv = os.path.dirname(path), list(argv)
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec", dont_inherit=True)
        identity = {"__file__": argv[0], "__cached__": None}
    sys.path[:] = [first, *python_path(os.environ.get("PYTHONPATH")), *base_path]
    main, namespace = vars(sys.modules["__main__"]), builtins
    main.clear()  # this file's names too: from here on, only locals and builtins
    main.update(identity, __builtins__=namespace, __name__="__main__", __doc__=None)
    main.update(__annotations__={}, __spec__=None, __package__=None, __loader__=None)
    exec(code, main)  # the program, as ``python`` would run it


if __name__ == "__main__":
    del sys.path[0]  # this file's folder: tests/, whose modules no program sees
    added = python_path(os.environ.get("PYTHONPATH"))
    base = [entry for entry in sys.path if entry not in added]
    for name in PRELOADED:
        importlib.import_module(name)
    run(serve(), base)  # the last statement: the program's end is the interpreter's
