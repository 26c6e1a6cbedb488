"""``dolmen check`` and ``dolmen graph``: verify module boundaries, draw the module graph."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from dolmen.check import Report


@click.command("check")
@click.argument("path", default=".", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    show_default=True,
    help="How to print the violations.",
)
@click.option("--write-baseline", is_flag=True, help="Record today's violations as accepted.")
@click.option("--no-baseline", is_flag=True, help="Ignore the baseline: report everything.")
@click.option("--no-cache", is_flag=True, help="Read every file again (no import cache).")
def check_command(
    path: str, output_format: str, write_baseline: bool, no_baseline: bool, no_cache: bool
) -> None:
    """Check the module boundaries of the codebase at PATH (its pyproject.toml says how).

    Exit 0 when clean, 1 on violations, 2 on a configuration or usage error.
    """
    from dolmen.check import answer, remember
    from dolmen.check import write_baseline as write

    use_baseline = not (write_baseline or no_baseline)
    report = _run_check(Path(path), use_cache=not no_cache, use_baseline=use_baseline)
    if write_baseline:
        target = report.project.root / report.project.settings.baseline
        write(target, report.violations)
        click.echo(f"wrote {len(report.violations)} violations to {target}")
        return
    stdout, stderr, code = answer(report, output_format)
    if not no_cache:
        remember(report, output_format, (stdout, stderr, code))
    click.echo(stdout, nl=False)
    click.echo(stderr, nl=False, err=True)
    sys.exit(code)


def _run_check(path: Path, *, use_cache: bool = True, use_baseline: bool = True) -> Report:
    """Run the check; an error of the check itself exits with 2 (1 means violations)."""
    from dolmen.check import run_check
    from dolmen.check.exceptions import CheckConfigError

    try:
        return run_check(path, use_cache=use_cache, use_baseline=use_baseline)
    except CheckConfigError:
        raise  # printed by the CLI, exit status 2
    except Exception as error:
        logging.getLogger("dolmen.check").debug("the check failed", exc_info=error)
        click.echo(
            f"internal error of dolmen check: {type(error).__name__}: {error}\n"
            "Try again with --no-cache; if it persists, please report it with this message.",
            err=True,
        )
        sys.exit(2)


@click.command("graph")
@click.argument("path", default=".", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
)
def graph_command(path: str, output_format: str) -> None:
    """Print the module dependency graph of the codebase at PATH, violating edges marked."""
    from dolmen.check import dot, mermaid

    report = _run_check(Path(path))
    click.echo(mermaid(report) if output_format == "mermaid" else dot(report), nl=False)
