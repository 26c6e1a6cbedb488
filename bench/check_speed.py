"""Time ``dolmen check`` against Tach and import-linter on real packages, cold and warm.

Each package (a pinned wheel from PyPI) is unpacked into the scratch folder; its top-level
subpackages become modules under one layers rule, written three times: for dolmen check
(``pyproject.toml``), Tach (``tach.toml``) and import-linter (``.importlinter``). Every tool
is then run as a whole process, cold (its cache deleted first), warm (its cache from the
run just before), after an edit (a comment added at the end of one file, then the run) and
after an edit of imports (``import os`` inserted at the top of the same file: every line
moves and the file imports one more module), for several rounds in a rotating tool order;
medians are reported. dolmen check is also timed with ``parse-error``
selected (``dolmen+parse``: every file's syntax judged), in a copy of the tree.

Last, the directly violating (importer module, imported module) pairs that dolmen check and
import-linter find for the same rule are compared (Tach's are shown too).

    .venv/bin/python bench/check_speed.py [--rounds 5] [--packages django homeassistant]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCRATCH = REPO / "bench" / ".scratch" / "check"
PEERS = ("tach==0.35.3", "import-linter==2.17")
TOOLS = ("dolmen", "tach", "import-linter")
TIMED = (*TOOLS, "dolmen+parse")
"""Timed: the three tools, and dolmen check with parse-error selected (in a copy of the tree)."""
KINDS = ("cold", "warm", "edit", "imports")
EDITS = {
    "edit": lambda before: before + b"\n# edited by bench/check_speed.py\n",
    "imports": lambda before: b"import os  # edited by bench/check_speed.py\n" + before,
}
"""How the file is changed before each run after an edit: a comment at its end; an import
at its top (its imports change, and every line after it moves)."""
CACHE_DIRS = {"dolmen": ".dolmen_cache", "tach": ".tach", "import-linter": ".import_linter_cache"}


@dataclass(frozen=True)
class Package:
    key: str
    requirement: str
    top: str
    layers: tuple[tuple[str, ...], ...]
    """Subpackage names, top to bottom; those in one group may import each other."""
    edited: str
    """The file changed before each tool's run after an edit (then restored, time included)."""
    pip_args: tuple[str, ...] = ()


PACKAGES = {
    "django": Package(
        "django",
        "django==5.2.19",
        "django",
        (
            ("test",),
            ("contrib",),
            ("middleware", "templatetags", "views"),
            ("forms", "template"),
            ("urls",),
            ("http",),
            ("db",),
            ("core",),
            ("apps", "conf", "dispatch"),
            ("utils",),
        ),
        "django/db/models/query.py",
    ),
    # 7,978 .py files; its wheel requires Python 3.13, which only matters to pip here.
    "homeassistant": Package(
        "homeassistant",
        "homeassistant==2025.4.4",
        "homeassistant",
        (
            ("scripts",),
            ("components",),
            ("auth",),
            ("helpers",),
            ("backports", "generated", "util"),
        ),
        "homeassistant/helpers/entity.py",
        ("--only-binary=:all:", "--python-version", "3.13"),
    ),
}


class BenchError(Exception):
    """The benchmark cannot run or a tool's result is not valid."""


@dataclass
class Timing:
    wall: float
    cpu: float


@dataclass
class Runs:
    cold: list[Timing] = field(default_factory=list)
    warm: list[Timing] = field(default_factory=list)
    edit: list[Timing] = field(default_factory=list)
    imports: list[Timing] = field(default_factory=list)


# -- set-up ---------------------------------------------------------------------------


def fetch(package: Package, scratch: Path) -> Path:
    """Download the wheel (once) and unpack its top-level package into scratch/<key>/."""
    downloads = scratch / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    name, _, version = package.requirement.partition("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    wheels = sorted(downloads.glob(pattern))
    if not wheels:
        command = [
            *(str(REPO / ".venv" / "bin" / "python"), "-m", "pip", "download", "--no-deps"),
            *("--quiet", "-d", str(downloads), *package.pip_args, package.requirement),
        ]
        print(f"downloading {package.requirement}", file=sys.stderr)
        subprocess.run(command, check=True)
        wheels = sorted(downloads.glob(pattern))
    if not wheels:
        raise BenchError(f"pip downloaded no wheel matching {pattern} into {downloads}")
    project = scratch / package.key
    marker = project / ".unpacked"
    if not marker.is_file() or marker.read_text() != wheels[0].name:
        shutil.rmtree(project, ignore_errors=True)
        project.mkdir(parents=True)
        with zipfile.ZipFile(wheels[0]) as wheel:
            members = [m for m in wheel.namelist() if m.startswith(f"{package.top}/")]
            wheel.extractall(project, members)
        marker.write_text(wheels[0].name)
    return project


def subpackages(project: Path, package: Package) -> list[str]:
    root = project / package.top
    return sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file())


def parse_copy(project: Path, package: Package) -> Path:
    """A copy of the unpacked tree whose pyproject.toml also selects parse-error."""
    copy = project.with_name(f"{project.name}-parse")
    marker = project / ".unpacked"
    if not (copy / ".unpacked").is_file() or (copy / ".unpacked").read_text() != marker.read_text():
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(project / package.top, copy / package.top)
        shutil.copy2(marker, copy / ".unpacked")
    text = (project / "pyproject.toml").read_text()
    selected = 'select = ["module-layer-violation", "parse-error"]'
    (copy / "pyproject.toml").write_text(
        text.replace('select = ["module-layer-violation"]', selected)
    )
    return copy


def write_configs(project: Path, package: Package) -> None:
    found = subpackages(project, package)
    declared = [name for group in package.layers for name in group]
    if sorted(declared) != found:
        raise BenchError(
            f"{package.key}: the layers name {sorted(declared)} but the subpackages are {found}"
        )
    dotted = [[f"{package.top}.{name}" for name in group] for group in package.layers]

    groups = ", ".join("[" + ", ".join(f'"{n}"' for n in group) + "]" for group in package.layers)
    dolmen = [
        "[tool.dolmen.check]",
        'select = ["module-layer-violation"]',
        f"module-layers = [{groups}]",
    ]
    for name in sorted(declared):
        dolmen += [
            "",
            "[[tool.dolmen.check.modules]]",
            f'name = "{name}"',
            f'package = "{package.top}.{name}"',
            'public = ["*"]',
        ]
    (project / "pyproject.toml").write_text("\n".join(dolmen) + "\n")

    # Tach: one layer per group; no depends_on (so only layers are judged), no interfaces.
    layer_names = [f"layer{index}" for index in range(len(package.layers))]
    tach = [
        'source_roots = ["."]',
        "exclude = []",
        "respect_gitignore = false",
        "ignore_type_checking_imports = false",
        "layers = [" + ", ".join(f'"{n}"' for n in layer_names) + "]",
    ]
    for layer, group in zip(layer_names, dotted, strict=True):
        for module in group:
            tach += ["", "[[modules]]", f'path = "{module}"', f'layer = "{layer}"']
    (project / "tach.toml").write_text("\n".join(tach) + "\n")

    # import-linter: ':' joins siblings that may import each other (not independent).
    linter = [
        "[importlinter]",
        f"root_package = {package.top}",
        "",
        "[importlinter:contract:layers]",
        f"name = {package.key} layers",
        "type = layers",
        "exhaustive = false",
        "layers =",
        *(f"    {' : '.join(group)}" for group in dotted),
    ]
    (project / ".importlinter").write_text("\n".join(linter) + "\n")


def peer_tools(scratch: Path) -> dict[str, Path]:
    """Tach and import-linter, in their own venv under the scratch folder."""
    venv = scratch / "peers"
    tach, linter = venv / "bin" / "tach", venv / "bin" / "lint-imports"
    if not (venv / "bin" / "python").is_file():
        python = shutil.which("python3") or sys.executable
        print(f"creating {venv}", file=sys.stderr)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    if not (tach.is_file() and linter.is_file()) or versions_installed(scratch) != PEERS:
        print(f"installing {', '.join(PEERS)} into {venv}", file=sys.stderr)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, *PEERS], check=True)
    return {"tach": tach, "import-linter": linter}


def dolmen_executable() -> Path:
    local = REPO / ".venv" / "bin" / "dolmen"
    found = local if local.is_file() else shutil.which("dolmen")
    if not found:
        raise BenchError("dolmen is not installed: create .venv and install the project")
    return Path(found)


def installed(scratch: Path) -> dict[str, str]:
    pip = [str(scratch / "peers" / "bin" / "python"), "-m", "pip", "list", "--format", "json"]
    listed = subprocess.run(pip, capture_output=True, text=True, check=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(listed)}


def versions_installed(scratch: Path) -> tuple[str, ...]:
    found = installed(scratch)
    names = [peer.partition("==")[0] for peer in PEERS]
    return tuple(f"{name}=={found.get(name, '')}" for name in names)


def python_version(python: Path) -> str:
    said = subprocess.run([str(python), "--version"], capture_output=True, text=True).stdout
    return said.split()[-1] if said else "?"


def versions(scratch: Path) -> dict[str, str]:
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "src"], capture_output=True, text=True
    ).stdout.strip()
    listed = installed(scratch)
    return {
        "dolmen": f"{commit}{' (src modified)' if dirty else ''}",
        "tach": listed.get("tach", "?"),
        "import-linter": listed.get("import-linter", "?"),
        "grimp": listed.get("grimp", "?"),
        "python (dolmen)": python_version(REPO / ".venv" / "bin" / "python"),
        "python (peers)": python_version(scratch / "peers" / "bin" / "python"),
    }


# -- running ---------------------------------------------------------------------------


def command(tool: str, tools: dict[str, Path]) -> list[str]:
    if tool in ("dolmen", "dolmen+parse"):
        return [str(tools["dolmen"]), "check", ".", "--format", "json"]
    if tool == "tach":
        return [str(tools["tach"]), "check", "--dependencies", "--output", "json"]
    return [str(tools["import-linter"]), "--config", ".importlinter"]


def run(tool: str, tools: dict[str, Path], project: Path, out: Path) -> Timing:
    """Run one tool once as a whole process; its stdout and stderr go to files.

    The wait is a blocking ``wait4`` (exact, with the child's own CPU time): a wait with a
    timeout would poll, and round every figure up to the next 50 ms.
    """
    env = {**os.environ, "COLUMNS": "100000"}  # import-linter (rich) wraps at 80 otherwise
    # Bytecode is cached as for an installed package (pip compiles on install): with
    # PYTHONDONTWRITEBYTECODE set, an editable dolmen would compile its modules on every run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with out.open("wb") as stdout, out.with_suffix(".err").open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command(tool, tools), cwd=project, stdout=stdout, stderr=stderr, env=env
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        tail = out.with_suffix(".err").read_text(errors="replace")[-2000:]
        raise BenchError(f"{tool} exited {process.returncode} in {project}:\n{tail}")
    return Timing(wall, usage.ru_utime + usage.ru_stime)


def clear_cache(tool: str, project: Path) -> None:
    shutil.rmtree(project / CACHE_DIRS[tool.partition("+")[0]], ignore_errors=True)


def timed_edit(
    tool: str, tools: dict[str, Path], project: Path, out: Path, edited: Path, kind: str
) -> Timing:
    """Run after changing one file (see EDITS), then put the file back as it was, times too.

    The file's old bytes and times come back, so no tool's next run sees a change.
    """
    before, times = edited.read_bytes(), edited.stat()
    edited.write_bytes(EDITS[kind](before))
    try:
        return run(tool, tools, project, out)
    finally:
        edited.write_bytes(before)
        os.utime(edited, ns=(times.st_atime_ns, times.st_mtime_ns))


def measure(
    projects: dict[str, Path], package: Package, tools: dict[str, Path], rounds: int, outputs: Path
) -> tuple[dict[str, Runs], dict[str, dict[str, Path]]]:
    """One untimed warm-up round, then ``rounds`` rounds; each tool cold, warm, after an edit."""
    results = {tool: Runs() for tool in TIMED}
    files: dict[str, dict[str, Path]] = {tool: {} for tool in TIMED}
    outputs.mkdir(parents=True, exist_ok=True)
    for number in range(-1, rounds):
        shift = number % len(TIMED)
        order = TIMED[shift:] + TIMED[:shift]
        for tool in order:
            project = projects[tool]
            for kind in KINDS:
                if kind == "cold":
                    clear_cache(tool, project)
                elif tool.startswith("dolmen") and not (project / ".dolmen_cache").is_dir():
                    raise BenchError("dolmen check left no cache for its warm run")
                elif tool == "import-linter" and not (project / ".import_linter_cache").is_dir():
                    raise BenchError("lint-imports left no cache for its warm run")
                out = outputs / f"{tool}-{kind}.txt"
                if kind in EDITS:
                    edited = project / package.edited
                    timing = timed_edit(tool, tools, project, out, edited, kind)
                else:
                    timing = run(tool, tools, project, out)
                files[tool][kind] = out
                if number >= 0:
                    getattr(results[tool], kind).append(timing)
        if number >= 0:
            line = "  ".join(
                f"{t} " + "/".join(f"{getattr(results[t], k)[-1].wall:.2f}" for k in KINDS)
                for t in order
            )
            print(f"  round {number + 1}: {line}  (cold/warm/edit/imports, s)", file=sys.stderr)
    return results, files


# -- violating pairs ---------------------------------------------------------------------

Import = tuple[str, int, str]
"""(importing file's module, line, imported layer package): one violating import."""


@dataclass
class Found:
    pairs: set[tuple[str, str]]
    imports: set[Import]
    indirect_pairs: set[tuple[str, str]] = field(default_factory=set)


def dotted_of(path: str) -> str:
    parts = list(Path(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(dotted: str, layer_packages: list[str]) -> str | None:
    for package in layer_packages:
        if dotted == package or dotted.startswith(f"{package}."):
            return package
    return None


# "module 'apps' (layer 9) imports module 'core' ('django.core.exceptions': X) of a higher
# layer (8)", and one "module '…' (…) of a higher layer (…)" per module a statement reaches.
_DOLMEN_TARGET = re.compile(r"module '(?P<name>[^']+)' \((?:[^()]|\([^()]*\))*\) of a higher layer")


def dolmen_found(output: Path, package: Package) -> Found:
    found = Found(set(), set())
    for violation in json.loads(output.read_text())["violations"]:
        if violation["rule"] != "module-layer-violation":
            continue
        targets = _DOLMEN_TARGET.findall(violation["message"])
        if not targets:
            raise BenchError(f"cannot read the target of {violation['message']!r}")
        importer = f"{package.top}.{violation['module']}"
        for name in targets:
            imported = f"{package.top}.{name}"
            found.pairs.add((importer, imported))
            found.imports.add((dotted_of(violation["path"]), int(violation["line"]), imported))
    return found


_HEADER = re.compile(r"^(?P<lower>\S+) is not allowed to import (?P<higher>\S+):$")
_DIRECT = re.compile(r"^- (?P<importer>\S+) -> (?P<imported>\S+) \((?P<lines>[^)]*)\)$")


def linter_found(output: Path) -> Found:
    """Direct imports from lint-imports' report: routes of one line into the higher layer."""
    found = Found(set(), set())
    lower = higher = None
    block: list[str] = []

    def close() -> None:
        if lower is None or higher is None or len(block) != 1:
            return
        match = _DIRECT.match(block[0])
        if match is None or layer_of(match.group("imported"), [higher]) is None:
            return
        importer = match.group("importer")
        if layer_of(importer, [lower]) is None:
            raise BenchError(f"import-linter route {block[0]!r} does not start in {lower}")
        found.pairs.add((lower, higher))
        for number in re.findall(r"l\.(\d+)", match.group("lines")):
            found.imports.add((importer, int(number), higher))

    for line in [*output.read_text().splitlines(), ""]:
        header = _HEADER.match(line)
        if header:
            close()
            block = []
            lower, higher = header.group("lower"), header.group("higher")
            found.indirect_pairs.add((lower, higher))
        elif not line.strip():
            close()
            block = []
        elif lower is not None and line.startswith(("- ", "  ")):
            block.append(line.rstrip())
        elif lower is not None:  # the report's next section (e.g. a heading): stop
            close()
            block, lower, higher = [], None, None
    return found


def tach_found(output: Path) -> Found:
    found = Found(set(), set())
    for diagnostic in json.loads(output.read_text() or "[]"):
        located = diagnostic.get("Located", {})
        details = located.get("details", {}).get("Code", {}).get("LayerViolation")
        if not details:
            continue
        importer, imported = details["usage_module"], details["definition_module"]
        found.pairs.add((importer, imported))
        found.imports.add((dotted_of(located["file_path"]), located["line_number"], imported))
    return found


def compare(package: Package, files: dict[str, dict[str, Path]]) -> dict[str, object]:
    found = {}
    for kind in KINDS:
        found[kind] = {
            "dolmen": dolmen_found(files["dolmen"][kind], package),
            "import-linter": linter_found(files["import-linter"][kind]),
            "tach": tach_found(files["tach"][kind]),
        }
    for tool in TOOLS:
        cold = found["cold"][tool]
        for kind in ("warm", "edit"):
            other = found[kind][tool]
            if (cold.pairs, cold.imports) != (other.pairs, other.imports):
                print(f"WARNING: {tool} found other violations {kind} than cold", file=sys.stderr)
        if cold.pairs != found["imports"][tool].pairs:  # its lines moved: pairs only
            print(f"WARNING: {tool} found other pairs after the imports edit", file=sys.stderr)
    parsed = dolmen_found(files["dolmen+parse"]["cold"], package)
    if (parsed.pairs, parsed.imports) != (
        found["cold"]["dolmen"].pairs,
        found["cold"]["dolmen"].imports,
    ):
        print("WARNING: dolmen+parse found other layer violations than dolmen", file=sys.stderr)
    dolmen, linter, tach = (found["cold"][t] for t in ("dolmen", "import-linter", "tach"))

    def short(pairs: set[tuple[str, str]]) -> list[str]:
        return [f"{a} -> {b}" for a, b in sorted(pairs)]

    return {
        "dolmen_pairs": short(dolmen.pairs),
        "linter_pairs": short(linter.pairs),
        "linter_indirect_only_pairs": short(linter.indirect_pairs - linter.pairs),
        "tach_pairs": short(tach.pairs),
        "dolmen_only": short(dolmen.pairs - linter.pairs),
        "linter_only": short(linter.pairs - dolmen.pairs),
        "same_pairs": dolmen.pairs == linter.pairs,
        "imports": {"dolmen": len(dolmen.imports), "import-linter": len(linter.imports)},
        "imports_dolmen_only": sorted(dolmen.imports - linter.imports),
        "imports_linter_only": sorted(linter.imports - dolmen.imports),
        "tach_vs_linter_only_tach": short(tach.pairs - linter.pairs),
        "tach_vs_linter_only_linter": short(linter.pairs - tach.pairs),
        "parse_errors": parse_errors(files["dolmen+parse"]["cold"]),
    }


def parse_errors(output: Path) -> int:
    """How many files dolmen+parse reports as parse-error (Python cannot parse them)."""
    return sum(v["rule"] == "parse-error" for v in json.loads(output.read_text())["violations"])


def files_seen(files: dict[str, dict[str, Path]]) -> dict[str, str]:
    """How many files each tool says it read (dolmen and import-linter print it)."""
    seen = {}
    err = files["dolmen"]["cold"].with_suffix(".err").read_text()
    match = re.search(r"\((\d+) files", err)
    seen["dolmen"] = match.group(1) if match else "?"
    match = re.search(r"Analyzed (\d+) files", files["import-linter"]["cold"].read_text())
    seen["import-linter"] = match.group(1) if match else "?"
    return seen


# -- report ----------------------------------------------------------------------------


def median(timings: list[Timing]) -> float:
    return statistics.median(t.wall for t in timings)


def spread(timings: list[Timing]) -> str:
    walls = [t.wall for t in timings]
    return f"{statistics.median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f})"


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| package | .py files | tool | cold median, s (min-max) | warm median, s (min-max) "
        "| after an edit, s (min-max) | after an edit of imports, s (min-max) "
        "| CPU cold / warm / edit / imports, s |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    ratios = [
        "| package | tool | cold / faster peer cold | warm / faster peer warm "
        "| after an edit / faster peer warm | after an edit of imports / faster peer warm |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        runs: dict[str, Runs] = row["runs"]  # type: ignore[assignment]
        for tool in TIMED:
            cpu = " / ".join(
                f"{statistics.median(t.cpu for t in getattr(runs[tool], kind)):.2f}"
                for kind in KINDS
            )
            lines.append(
                f"| {row['package']} | {row['py_files']:,} | {tool} | {spread(runs[tool].cold)} "
                f"| {spread(runs[tool].warm)} | {spread(runs[tool].edit)} "
                f"| {spread(runs[tool].imports)} | {cpu} |"
            )
        for tool in ("dolmen", "dolmen+parse"):
            ratio: dict[str, float] = row["ratios"][tool]  # type: ignore[index]
            ratios.append(
                f"| {row['package']} | {tool} | {ratio['cold']:.2f}x (vs {row['cold_peer']}) "
                f"| {ratio['warm']:.2f}x (vs {row['warm_peer']}) "
                f"| {ratio['edit']:.2f}x (vs {row['warm_peer']}) "
                f"| {ratio['imports']:.2f}x (vs {row['warm_peer']}) |"
            )
    return "\n".join(lines) + "\n\n" + "\n".join(ratios)


GOALS = {"cold": 0.9, "warm": 0.25, "edit": 0.25, "imports": 0.25}
"""dolmen check's goals, as ratios to the faster peer: cold to cold, warm and edit to warm."""


def verdicts(rows: list[dict[str, object]]) -> list[str]:
    said = []
    for row in rows:
        comparison: dict[str, object] = row["comparison"]  # type: ignore[assignment]
        ratio: dict[str, float] = row["ratios"]["dolmen"]  # type: ignore[index]
        peer = {"cold": "cold", "warm": "warm", "edit": "warm", "imports": "warm"}
        for kind, goal in GOALS.items():
            met = ratio[kind] <= goal
            said.append(
                f"{row['package']}: dolmen {kind} <= {goal}x the faster peer's {peer[kind]}: "
                f"{'met' if met else 'NOT met'} ({ratio[kind]:.2f}x)"
            )
        said.append(
            f"{row['package']}: same violating pairs as import-linter: "
            f"{'met' if comparison['same_pairs'] else 'NOT met'}"
        )
        parsed: dict[str, float] = row["ratios"]["dolmen+parse"]  # type: ignore[index]
        said.append(
            f"{row['package']}: with parse-error selected ({comparison['parse_errors']} files "
            f"Python {sys.version_info.major}.{sys.version_info.minor} cannot parse): cold "
            f"{parsed['cold']:.2f}x, warm {parsed['warm']:.2f}x, edit {parsed['edit']:.2f}x, "
            f"imports {parsed['imports']:.2f}x"
        )
    return said


def pairs_report(package: str, comparison: dict[str, object]) -> str:
    def listed(key: str) -> str:
        items: list[str] = comparison[key]  # type: ignore[assignment]
        return ", ".join(items) if items else "none"

    imports: dict[str, int] = comparison["imports"]  # type: ignore[assignment]
    lines = [
        f"{package}: violating pairs: dolmen {len(comparison['dolmen_pairs'])}, "  # type: ignore[arg-type]
        f"import-linter (direct) {len(comparison['linter_pairs'])}, "  # type: ignore[arg-type]
        f"tach {len(comparison['tach_pairs'])}",  # type: ignore[arg-type]
        f"  dolmen: {listed('dolmen_pairs')}",
        f"  only dolmen: {listed('dolmen_only')}",
        f"  only import-linter: {listed('linter_only')}",
        f"  import-linter, only through indirect chains: {listed('linter_indirect_only_pairs')}",
        f"  tach, pairs import-linter lacks: {listed('tach_vs_linter_only_tach')}; "
        f"lacking: {listed('tach_vs_linter_only_linter')}",
        f"  violating imports (file module, line, imported layer): dolmen {imports['dolmen']}, "
        f"import-linter {imports['import-linter']}",
    ]
    for key, who in (("imports_dolmen_only", "dolmen"), ("imports_linter_only", "import-linter")):
        items: list[Import] = comparison[key]  # type: ignore[assignment]
        lines.append(f"  imports only {who} reports: {len(items)}")
        lines += [f"    {module}:{line} -> {target}" for module, line, target in items[:15]]
        if len(items) > 15:
            lines.append(f"    ... and {len(items) - 15} more")
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH, help="scratch folder")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument(
        "--packages", nargs="+", choices=sorted(PACKAGES), default=sorted(PACKAGES),
        help="which packages to check (default: all)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.rounds < 5:
        print("note: fewer than 5 rounds; medians are rough", file=sys.stderr)
    scratch: Path = args.scratch.resolve()
    scratch.mkdir(parents=True, exist_ok=True)

    tools = {"dolmen": dolmen_executable(), **peer_tools(scratch)}
    about = versions(scratch)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in about.items()))
    rows: list[dict[str, object]] = []
    for key in args.packages:
        package = PACKAGES[key]
        project = fetch(package, scratch)
        write_configs(project, package)
        projects = {tool: project for tool in TOOLS}
        projects["dolmen+parse"] = parse_copy(project, package)
        py_files = sum(1 for _ in (project / package.top).rglob("*.py"))
        print(f"{key}: {py_files} .py files, {args.rounds} rounds", file=sys.stderr)
        runs, files = measure(projects, package, tools, args.rounds, scratch / "outputs" / key)
        cold = {t: median(runs[t].cold) for t in TIMED}
        warm = {t: median(runs[t].warm) for t in TIMED}
        edit = {t: median(runs[t].edit) for t in TIMED}
        imports = {t: median(runs[t].imports) for t in TIMED}
        cold_peer = min(("tach", "import-linter"), key=cold.__getitem__)
        warm_peer = min(("tach", "import-linter"), key=warm.__getitem__)
        ratios = {
            tool: {
                "cold": cold[tool] / cold[cold_peer],
                "warm": warm[tool] / warm[warm_peer],
                "edit": edit[tool] / warm[warm_peer],
                "imports": imports[tool] / warm[warm_peer],
            }
            for tool in ("dolmen", "dolmen+parse")
        }
        rows.append(
            {
                "package": package.requirement,
                "py_files": py_files,
                "files_seen": files_seen(files),
                "runs": runs,
                "cold_peer": cold_peer,
                "warm_peer": warm_peer,
                "ratios": ratios,
                "comparison": compare(package, files),
            }
        )

    print()
    print(table(rows))
    print()
    for row in rows:
        seen = row["files_seen"]
        print(f"{row['package']}: files read: {seen}")
    print()
    for said in verdicts(rows):
        print(said)
    print()
    for row in rows:
        print(pairs_report(str(row["package"]), row["comparison"]))  # type: ignore[arg-type]
    record = [
        {
            **{k: v for k, v in row.items() if k != "runs"},
            "runs": {
                tool: {kind: [[t.wall, t.cpu] for t in getattr(runs, kind)] for kind in KINDS}
                for tool, runs in row["runs"].items()  # type: ignore[attr-defined]
            },
        }
        for row in rows
    ]
    (scratch / "results.json").write_text(json.dumps({"versions": about, "rows": record}, indent=1))
    print(f"\nraw figures: {scratch / 'results.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
