"""Compare dolmen check's import scanner with Python's ``ast`` on every file of real packages.

For every ``.py`` file of Django and Home Assistant (the wheels ``bench/check_speed.py``
downloads and unpacks into ``bench/.scratch/check/``), the imports the scanner finds
(``dolmen.check._imports.scan_bytes``) are compared with those an ``ast``-based reference
finds: the same reference as the generative test (``reference()`` of
``tests/unit/check/ast_reference.py``): module, name, line, column, whether
under ``if TYPE_CHECKING:``, whether a dynamic import. Files the running Python cannot parse
(code for a newer Python) have no reference and are counted apart.

    .venv/bin/python bench/scanner_vs_ast.py [--packages django homeassistant]

Prints the files compared and every difference; exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from check_speed import DEFAULT_SCRATCH, PACKAGES, fetch  # noqa: E402

from dolmen.check._imports import UnreadableFile  # noqa: E402
from tests.unit.check.ast_reference import reference, scanned  # noqa: E402


def compare(folder: Path) -> tuple[int, list[str], list[str], list[str]]:
    """(files compared, files Python cannot parse, files the scanner cannot read, differences)."""
    compared = 0
    unparsable: list[str] = []
    unreadable: list[str] = []
    differences: list[str] = []
    for path in sorted(folder.rglob("*.py")):
        data = path.read_bytes()
        shown = str(path.relative_to(folder))
        try:
            with warnings.catch_warnings():  # invalid escapes are the file's business
                warnings.simplefilter("ignore")
                expected = reference(data)
        except SyntaxError:
            unparsable.append(shown)
            continue
        compared += 1
        try:
            found = scanned(data)
        except UnreadableFile as error:
            unreadable.append(f"{shown}: {error}")
            continue
        if found != expected:
            missing = sorted(set(expected) - set(found))
            extra = sorted(set(found) - set(expected))
            differences.append(f"{shown}: only ast {missing[:5]}, only the scanner {extra[:5]}")
    return compared, unparsable, unreadable, differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH, help="scratch folder")
    parser.add_argument(
        "--packages", nargs="+", choices=sorted(PACKAGES), default=sorted(PACKAGES),
        help="which packages to compare (default: all)",
    )  # fmt: skip
    args = parser.parse_args()
    scratch: Path = args.scratch.resolve()
    python = ".".join(map(str, sys.version_info[:3]))
    total_differences = 0
    for key in args.packages:
        package = PACKAGES[key]
        project = fetch(package, scratch)
        started = time.perf_counter()
        compared, unparsable, unreadable, differences = compare(project / package.top)
        seconds = time.perf_counter() - started
        print(
            f"{package.requirement}: {compared} files compared, {len(differences)} differences, "
            f"{len(unreadable)} the scanner could not read; {len(unparsable)} files Python "
            f"{python} cannot parse (not compared) ({seconds:.1f} s)"
        )
        for line in [*differences, *unreadable]:
            print(f"  {line}")
        if unparsable:
            print(f"  cannot parse, e.g.: {', '.join(unparsable[:3])}")
        total_differences += len(differences) + len(unreadable)
    return 1 if total_differences else 0


if __name__ == "__main__":
    sys.exit(main())
