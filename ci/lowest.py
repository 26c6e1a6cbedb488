"""Print pip constraints that pin each of Dolmen's dependencies to its lowest supported version.

    python ci/lowest.py > lowest.txt
    pip install -c lowest.txt -e ".[postgres,rabbitmq,nats,redis]"

The pins are read from pyproject.toml (the runtime dependencies and the extras of
:data:`PINNED_EXTRAS`),
so they follow its lower bounds: a bound raised there is tested from the next run on.
``python ci/lowest.py --tools`` prints instead the development tools the tests need there,
with their ranges from the ``dev`` extra, less those that the lowest versions do not install
with or that the tiers run there do not use (see docs/dependencies.md).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PINNED_EXTRAS = ("postgres", "rabbitmq", "nats", "redis")
"""The extras whose dependencies are pinned too: the database driver and the broker clients."""
NOT_TOOLS = {
    "mypy", "ruff", "sarif-pydantic", "schemathesis", "asyncpg", "aio-pika", "nats-py", "redis",
    "playwright",
}  # fmt: skip
"""Not needed by the tiers run on the lowest versions (sarif-pydantic also needs a newer
pydantic; playwright drives the browser tests, which are end-to-end); asyncpg and the broker
clients come pinned, from their extras."""
LOWER = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(?:>=\s*([^,;\s]+))?")


def name(requirement: str) -> str:
    """The distribution a requirement names."""
    match = LOWER.match(requirement)
    return match.group(1).lower() if match else requirement


def pins(requirements: list[str]) -> list[str]:
    """``name==lower`` for each requirement; an error for one without a lower bound."""
    lines = []
    for requirement in requirements:
        match = LOWER.match(requirement)
        if match is None or match.group(2) is None:
            raise SystemExit(
                f"ci/lowest.py: {requirement!r} in pyproject.toml has no lower bound (>=); "
                "give it the lowest version Dolmen works with"
            )
        lines.append(f"{match.group(1)}=={match.group(2)}")
    return lines


def main(arguments: list[str]) -> None:
    """Print the pins, or with ``--tools`` the test tools."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"]
    if arguments == ["--tools"]:
        print("\n".join(r for r in extras["dev"] if name(r) not in NOT_TOOLS))
    elif not arguments:
        pinned = [r for extra in PINNED_EXTRAS for r in extras[extra]]
        print("\n".join(pins([*project["dependencies"], *pinned])))
    else:
        raise SystemExit("usage: python ci/lowest.py [--tools]")


if __name__ == "__main__":
    main(sys.argv[1:])
