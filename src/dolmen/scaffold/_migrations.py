"""The migration steps of ``dolmen new``: a project's first migration, a module's history.

Each module keeps its migrations in ``<module>/migrations/versions/`` (``dolmen db``). A new
module starts with an empty history; a new project's example module gets its first
migration from ``dolmen db revision --autogenerate``, run in the new project as its
developers will run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

from dolmen.scaffold._render import RenderedFile, render_text
from dolmen.scaffold.exceptions import ScaffoldError

_HISTORY_README = """\
# The {{module}} module's migrations

One file per revision, oldest first, each numbered `{{module}}_0001`, `{{module}}_0002`, ...
Once you change the module's tables (`adapters/tables.py`), write the next revision and apply
it:

```bash
dolmen db revision --module {{module}} -m "what changed" --autogenerate   # review the file
dolmen db upgrade
```

`dolmen db check` (run by `./scripts/test`) fails while the tables and the migrations differ.
"""

FIRST_MIGRATION_TIMEOUT = 120.0


def empty_history(module: str) -> list[RenderedFile]:
    """The files of ``module``'s empty migration history, relative to its package."""
    text = render_text(_HISTORY_README, {"module": module}, "migrations README")
    return [RenderedFile(PurePosixPath("migrations", "versions", "README.md"), text)]


def write_first_migration(project: Path, app_spec: str, module: str) -> list[Path]:
    """Write the first migration of ``module`` in the project at ``project``; its files.

    It runs ``dolmen db revision --autogenerate`` in the project, with this Python, on a
    scratch database (Dolmen's settings in the environment are left out).
    """
    versions = project.joinpath(*app_spec.partition(":")[0].split(".")[:-1], module)
    versions = versions / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    command = [
        sys.executable, "-c", "from dolmen.cli import main; main()", "db", "revision",
        "--module", module, "-m", f"Create the {module} tables", "--autogenerate",
        "--app", app_spec, "--app-dir", ".",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLMEN_")}
    try:
        done = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True,
            timeout=FIRST_MIGRATION_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ScaffoldError(
            f"writing the first migration of {module!r} took over "
            f"{FIRST_MIGRATION_TIMEOUT:.0f} s; nothing was written"
        ) from None
    written = sorted(set(versions.glob("*.py")) - before)
    if done.returncode != 0 or not written:
        raise ScaffoldError(
            f"could not write the first migration of {module!r} (dolmen db revision exited "
            f"{done.returncode}); nothing was written:\n{done.stdout}{done.stderr}"
        )
    return written
