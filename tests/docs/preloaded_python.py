"""A Python interpreter that has imported Dolmen's dependencies once and forks for each program.

The documentation's examples each run as a program of their own (``python -W error
example.py``). Most of an example's time went to importing FastAPI, SQLAlchemy and pydantic
(0.8 s of CPU each time, a hundred times). This script, started once with ``-W error``,
imports them, then reads requests from its standard input, one JSON object per line:
``{"argv": [...], "cwd": ..., "env": {...}, "stdout": path, "stderr": path, "timeout": s}``
where ``argv`` is ``["example.py"]`` or ``["-c", code]``. For each it forks: the child
becomes that program (its working directory, environment, ``sys.argv``, ``sys.path[0]``,
output files, a fresh ``__main__``) and ends as the interpreter ends any program, atexit
handlers and thread joins included; the parent answers ``{"status": n, "timed_out": false}``
once the child exited (its exit code, or minus the signal that killed it), after killing it
if it ran out of time.

Only modules that do nothing but define things when imported are loaded beforehand (Dolmen
reads no configuration and opens nothing at import time), so a child starts in the state a
fresh interpreter reaches after importing them. The examples' own modules (``examples/``) are
never imported here: each child imports them anew.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import select
import signal
import sys
from typing import Any

PRELOADED = (
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


def run(request: dict[str, Any]) -> None:
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
    main = vars(sys.modules["__main__"])
    preserved = {"__builtins__": builtins, "__name__": "__main__", "__doc__": None}
    if argv[0] == "-c":
        sys.argv, sys.path[0] = ["-c"], ""
        code = compile(argv[1], "<string>", "exec", dont_inherit=True)
        main.clear()
        main.update(preserved, __spec__=None, __package__=None, __loader__=None)
    else:
        path = os.path.abspath(argv[0])
        sys.argv, sys.path[0] = list(argv), os.path.dirname(path)
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec", dont_inherit=True)
        main.clear()
        main.update(preserved, __file__=argv[0], __cached__=None, __spec__=None)
        main.update(__package__=None, __loader__=None)
    exec(code, main)  # the program, as ``python`` would run it


if __name__ == "__main__":
    for name in PRELOADED:
        importlib.import_module(name)
    run(serve())  # the last statement: the program's end is the interpreter's
