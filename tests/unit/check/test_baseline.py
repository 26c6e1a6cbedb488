"""The baseline: one written before lines were recorded is read, a wrong one is refused.

Through the command (a process each): tests/e2e/check/test_baseline.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dolmen.check._baseline import read_baseline
from dolmen.check._runner import run_check


def test_a_baseline_written_before_lines_were_recorded_is_still_read(acme: Path) -> None:
    run = run_check(acme, use_baseline=False)
    entries = [
        {"rule": v.rule, "path": v.path, "module": v.module, "target": v.target,
         "message": v.message}
        for v in run.violations
    ]  # fmt: skip
    (acme / "dolmen-baseline.json").write_text(json.dumps({"version": 1, "violations": entries}))
    report = run_check(acme)
    assert (report.violations, len(report.baselined), report.gone) == ([], 17, [])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"version": 3, "violations": []}', "not a dolmen baseline of a known version"),
        ('{"version": 2, "violations": [{"rule": "private-import"}]}', "has no text 'path'"),
        (
            '{"version": 2, "violations": [{"rule": "r", "path": "p", "module": "m", '
            '"target": "t", "message": "x"}]}',
            "violation 1 of dolmen-baseline.json has no line number 'line'",
        ),
        ("[1, 2]", "not a dolmen baseline"),
        ("{not json", "is not JSON"),
    ],
)
def test_a_baseline_of_an_unknown_shape_is_refused_saying_what_is_wrong(
    tmp_path: Path, content: str, problem: str
) -> None:
    baseline = tmp_path / "dolmen-baseline.json"
    baseline.write_text(content)
    with pytest.raises(ValueError, match=problem):
        read_baseline(baseline)
