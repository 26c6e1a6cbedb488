"""A warm dolmen check answered from the last run: the same output, and never a stale one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPLAYED = "<answered from the last run>"
JUDGED = "<answered from the last run once the edited files were judged>"
WITH_CLICK = "<the CLI library was loaded>"
PROBE = f"""
import os, sys, time
if "CHECK_TIME_NS" in os.environ:  # the check's clock, stopped where the test says
    time.time_ns = lambda: int(os.environ["CHECK_TIME_NS"])
from dolmen.cli import main
try:
    main()
finally:
    if "dolmen.check._rules" not in sys.modules:
        sys.stderr.write({REPLAYED!r})
    elif "dolmen.check._output" not in sys.modules:  # judged, but nothing rendered
        sys.stderr.write({JUDGED!r})
    if "click" in sys.modules:
        sys.stderr.write({WITH_CLICK!r})
    if "tomllib" in sys.modules and "PARSED_MARK" in os.environ:
        sys.stderr.write(os.environ["PARSED_MARK"])
"""


def check(
    root: Path, *args: str, at: float | None = None
) -> tuple[subprocess.CompletedProcess[str], bool]:
    """Run ``dolmen check ROOT ARGS``; also say whether it was answered from the last run.

    An answer printed again once the edited files were judged counts as answered from the
    last run (the rest of the tree was not checked). With ``at``, the check reads that time
    (seconds since the epoch) from its clock, however long it takes to start.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOLMEN_")}
    if at is not None:
        clean["CHECK_TIME_NS"] = str(round(at * 1e9))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "check", str(root), *args],
        capture_output=True, text=True, timeout=60, env=clean,
    )  # fmt: skip
    done.stderr = done.stderr.removesuffix(WITH_CLICK)
    replayed = done.stderr.endswith(REPLAYED) or done.stderr.endswith(JUDGED)
    done.stderr = done.stderr.removesuffix(REPLAYED).removesuffix(JUDGED)
    return done, replayed


def test_a_check_in_full_does_without_the_cli_library_but_its_errors_do_not(
    acme: Path,
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOLMEN_")}
    command = [sys.executable, "-c", PROBE, "check", str(acme), "--format", "json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=clean)
    assert done.returncode == 1
    assert not done.stderr.endswith(WITH_CLICK)
    assert len(json.loads(done.stdout)["violations"]) == 17
    (acme / "pyproject.toml").write_text("[tool.dolmen.check]\nroots = 'src'\n")
    broken = subprocess.run(command, capture_output=True, text=True, timeout=60, env=clean)
    assert broken.returncode == 2
    assert broken.stderr.startswith("configuration error in ")
    assert broken.stderr.endswith(WITH_CLICK)


def age(root: Path, seconds: float = 3600) -> float:
    """Make every file and folder look ``seconds`` old (fresh ones are never cached).

    Returns the time they now have.
    """
    when = time.time() - seconds
    for folder, _, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(folder, name), (when, when))
        os.utime(folder, (when, when))
    return when


def test_an_unchanged_tree_gets_the_same_answer_without_running_the_rules(acme: Path) -> None:
    age(acme)
    first, first_replayed = check(acme, "--format", "json")
    second, second_replayed = check(acme, "--format", "json")
    assert (first_replayed, second_replayed) == (False, True)
    assert (second.returncode, second.stdout, second.stderr) == (
        first.returncode, first.stdout, first.stderr,
    )  # fmt: skip
    assert first.returncode == 1
    assert len(json.loads(second.stdout)["violations"]) == 17
    _, text_replayed = check(acme)  # another format is answered in full, once
    assert not text_replayed
    assert check(acme)[1]


def test_a_file_added_to_a_folder_is_checked(acme: Path) -> None:
    age(acme)
    check(acme, "--format", "json")
    added = acme / "src" / "acme" / "catalog" / "leak.py"
    added.write_text("from acme.billing.gateway import charge\n")
    os.utime(added, (time.time() - 60, time.time() - 60))  # only its folder's time is new
    after, replayed = check(acme, "--format", "json")
    assert not replayed
    paths = {v["path"] for v in json.loads(after.stdout)["violations"]}
    assert "src/acme/catalog/leak.py" in paths


def test_an_edited_file_is_checked_again(acme: Path) -> None:
    age(acme)
    before, _ = check(acme, "--format", "json")
    edited = acme / "src" / "acme" / "app.py"
    edited.write_text(edited.read_text() + "\nfrom acme.orders.domain import order\n")
    age(edited.parent.parent.parent, 1800)  # settled, but not the time the answer saw
    after, replayed = check(acme, "--format", "json")
    assert not replayed
    assert len(json.loads(after.stdout)["violations"]) > len(
        json.loads(before.stdout)["violations"]
    )


def test_a_new_baseline_or_new_settings_are_never_answered_from_before(acme: Path) -> None:
    age(acme)
    check(acme)
    assert check(acme, "--write-baseline")[0].returncode == 0
    baselined, replayed = check(acme)
    assert not replayed
    assert baselined.returncode == 0
    assert "17 baselined" in baselined.stdout
    pyproject = acme / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.dolmen.check]", '[tool.dolmen.check]\nignore = ["outside-import"]', 1
        )
    )
    changed, replayed = check(acme)
    assert not replayed
    assert changed.stdout != baselined.stdout


def test_files_changed_just_now_are_not_trusted_to_the_cache(acme: Path) -> None:
    edited = age(acme, 0.5)  # just edited: a second edit in the same tick could keep the time
    first, _ = check(acme, at=edited + 0.5)
    again, replayed = check(acme, at=edited + 0.5)
    assert not replayed
    assert again.stdout == first.stdout


def test_a_folder_changed_just_before_the_check_is_listed_again(acme: Path) -> None:
    age(acme)
    folder = acme / "src" / "acme" / "catalog"
    written = time.time()
    os.utime(folder, (written, written))
    check(acme, "--format", "json", at=written + 0.5)  # half a second after it was written to
    stamp = folder.stat().st_mtime_ns
    added = folder / "leak.py"
    added.write_text("from acme.billing.gateway import charge\n")
    os.utime(added, (time.time() - 60, time.time() - 60))
    os.utime(folder, ns=(stamp, stamp))  # a file added in the same tick keeps the time
    after, replayed = check(acme, "--format", "json")
    assert not replayed
    assert "src/acme/catalog/leak.py" in {v["path"] for v in json.loads(after.stdout)["violations"]}
    assert check(acme, "--format", "json")[1]  # settled again: answered from this run


def edit(path: Path, text: str, *, at_top: bool = False, settled: bool = True) -> None:
    """Change ``path`` (at its end, or at its top); settled: long enough ago to be trusted."""
    old = path.read_text()
    path.write_text(text + old if at_top else old + text)
    if settled:
        when = time.time() - 1800  # not the time the answer saw
        os.utime(path, (when, when))


def test_an_edit_that_changes_no_import_is_answered_from_the_last_run(acme: Path) -> None:
    age(acme)
    before, _ = check(acme, "--format", "json")
    edit(acme / "src" / "acme" / "orders" / "service.py", "\n\ndef later():\n    return 1\n")
    after, replayed = check(acme, "--format", "json")
    assert replayed
    assert (after.returncode, after.stdout, after.stderr) == (
        before.returncode, before.stdout, before.stderr,
    )  # fmt: skip
    assert check(acme, "--format", "json")[1]  # and it is remembered under the new times


def test_an_edit_that_moves_or_adds_an_import_or_a_suppression_is_checked_again(
    acme: Path,
) -> None:
    age(acme)
    check(acme, "--format", "json")
    service = acme / "src" / "acme" / "orders" / "service.py"
    edit(service, "# no import changed\n")
    assert check(acme, "--format", "json")[1]
    edit(service, "\n", at_top=True)  # every import one line lower
    moved, replayed = check(acme, "--format", "json")
    assert not replayed
    lines = {
        v["line"]
        for v in json.loads(moved.stdout)["violations"]
        if v["path"].endswith("s/service.py")
    }
    assert lines == {2, 3, 6, 10}
    edit(service, "import os  # dolmen: ignore[private-import] not needed\n")
    suppressed, replayed = check(acme, "--format", "json")
    assert not replayed
    assert "unused-suppression" in {v["rule"] for v in json.loads(suppressed.stdout)["violations"]}


def test_an_edit_that_changes_no_import_is_checked_again_when_the_baseline_changed_too(
    acme: Path,
) -> None:
    age(acme)
    check(acme)
    assert check(acme, "--write-baseline")[0].returncode == 0
    edit(acme / "src" / "acme" / "orders" / "service.py", "# no import changed\n")
    after, replayed = check(acme)
    assert not replayed
    assert after.returncode == 0
    assert "17 baselined" in after.stdout


def test_an_added_import_the_rules_find_nothing_new_in_is_answered_from_the_last_run(
    acme: Path,
) -> None:
    age(acme)
    before, _ = check(acme, "--format", "json")
    service = acme / "src" / "acme" / "orders" / "service.py"
    edit(service, "import os\nfrom acme.catalog.api import Product\n")  # orders uses catalog
    after, replayed = check(acme, "--format", "json")
    assert replayed
    assert (after.returncode, after.stdout, after.stderr) == (
        before.returncode, before.stdout, before.stderr,
    )  # fmt: skip
    shutil.rmtree(acme / ".dolmen_cache")
    assert check(acme, "--format", "json")[0].stdout == after.stdout  # as a check in full says
    edit(service, "from acme.billing.gateway import charge\n")  # a new violation
    broken, replayed = check(acme, "--format", "json")
    assert not replayed
    assert len(json.loads(broken.stdout)["violations"]) == 18


def test_an_import_moved_in_a_file_whose_module_is_in_a_cycle_is_checked_again(
    tmp_path: Path,
) -> None:
    files = {
        "pyproject.toml": (
            '[tool.dolmen.check]\nroots = ["src"]\n\n'
            '[[tool.dolmen.check.modules]]\nname = "a"\npackage = "p.a"\ndepends_on = ["b"]\n\n'
            '[[tool.dolmen.check.modules]]\nname = "b"\npackage = "p.b"\ndepends_on = ["a"]\n'
        ),
        "src/p/__init__.py": "",
        "src/p/a/__init__.py": "",
        "src/p/a/api.py": "from p.b.api import y\n",
        "src/p/b/__init__.py": "",
        "src/p/b/api.py": "from p.a.api import x\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    age(tmp_path)
    before, _ = check(tmp_path, "--format", "json")
    assert "b -> a at src/p/b/api.py:1" in before.stdout
    edit(tmp_path / "src" / "p" / "b" / "api.py", "import os\n", at_top=True)
    after, replayed = check(tmp_path, "--format", "json")
    assert not replayed  # the same findings in the file, but the cycle's message names lines
    assert "b -> a at src/p/b/api.py:2" in after.stdout


def test_an_edit_is_compared_with_what_the_answer_saw_not_with_a_later_run(acme: Path) -> None:
    age(acme)
    check(acme, "--format", "json")
    app = acme / "src" / "acme" / "app.py"
    edit(app, "# no import changed\n")
    assert check(acme, "--format", "json")[1]
    edit(app, "from acme.orders.domain import order\n", settled=False)
    added, _ = check(acme, "--format", "json")  # read in full; just changed: not remembered
    edit(app, "# and a comment\n")  # the same imports as the run just before, not the answer
    after, replayed = check(acme, "--format", "json")
    assert not replayed
    assert after.stdout == added.stdout


def test_an_edit_of_a_file_declaring_modules_is_checked_again(shop_copy: Path) -> None:
    age(shop_copy)
    check(shop_copy)
    plain = next(p for p in shop_copy.rglob("*.py") if b"Module" not in p.read_bytes())
    edit(plain, "\n# a comment\n")
    assert check(shop_copy)[1]
    declaring = next(shop_copy.rglob("module.py"))
    edit(declaring, "\n# a comment\n")
    assert not check(shop_copy)[1]


def test_a_warm_run_reads_the_settings_kept_with_the_answer_while_pyproject_is_unchanged(
    acme: Path,
) -> None:
    pyproject = acme / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'cache-dir = ".elsewhere"\n')
    age(acme)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOLMEN_")}
    clean["PARSED_MARK"] = "<pyproject.toml parsed>"
    command = [sys.executable, "-c", PROBE, "check", str(acme), "--format", "json"]

    def run() -> str:
        return subprocess.run(command, capture_output=True, text=True, timeout=60, env=clean).stderr

    run()
    assert run().endswith("<pyproject.toml parsed>")  # the answer is in cache-dir: parse to know it
    pyproject.write_text(pyproject.read_text().replace('cache-dir = ".elsewhere"\n', ""))
    age(acme)
    run()
    warm = run()
    assert warm.endswith("<answered from the last run>")  # found in the default folder, not parsed


def test_an_edit_of_imports_gets_the_answer_of_a_full_check_without_parsing_pyproject(
    acme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    age(acme)
    check(acme, "--format", "json")
    monkeypatch.setenv("PARSED_MARK", "<pyproject.toml parsed>")
    service = acme / "src" / "acme" / "orders" / "service.py"
    edit(service, "import os\nfrom acme.billing import _hidden\n", at_top=True)
    after, replayed = check(acme, "--format", "json")
    assert not replayed
    assert not after.stderr.endswith("<pyproject.toml parsed>")  # the last run's settings
    monkeypatch.delenv("PARSED_MARK")
    full, _ = check(acme, "--format", "json", "--no-cache")
    assert json.loads(after.stdout) == json.loads(full.stdout)
    assert any(v["line"] == 2 for v in json.loads(after.stdout)["violations"])
