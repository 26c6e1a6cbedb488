"""``dolmen graph``: the module dependency graph as Mermaid or DOT, violating edges marked."""

from __future__ import annotations

from dolmen.check._runner import Report


def _edges(report: Report) -> list[tuple[str, str, str]]:
    """(source, target, kind): kind is ``ok``, ``event`` or ``violation``."""
    findings = report.findings
    if findings is None:
        return []
    # One violation per import statement: its target names every module or part, ", "-joined.
    bad = {
        (v.module, name)
        for v in report.violations
        if v.rule == "undeclared-dependency"
        for name in v.target.split(", ")
    }
    in_cycle = {
        (cycle[i], cycle[i + 1]) for cycle in findings.cycles for i in range(len(cycle) - 1)
    }
    private = {
        (v.module, owner.name)
        for v in report.violations
        if v.rule == "private-import"
        for target in v.target.split(", ")
        for owner in [report.project.module_of(target)]
        if owner is not None
    }
    edges = []
    for (source, target), edge in sorted(findings.edges.items()):
        violating = (source, target) in bad | in_cycle | private
        kind = "violation" if violating else "event" if edge.event_only else "ok"
        edges.append((source, target, kind))
    return edges


def mermaid(report: Report) -> str:
    """A Mermaid flowchart: dashed arrows for events, red for violations."""
    lines = ["flowchart LR"]
    lines += [f"    {m.name}[{m.name}]" for m in report.project.modules]
    red = []
    for index, (source, target, kind) in enumerate(_edges(report)):
        arrow = "-.->" if kind == "event" else "-->"
        label = "|events|" if kind == "event" else "|violation|" if kind == "violation" else ""
        lines.append(f"    {source} {arrow}{label} {target}")
        if kind == "violation":
            red.append(str(index))
    if red:
        lines.append(f"    linkStyle {','.join(red)} stroke:#d00,stroke-width:2px")
    return "\n".join(lines) + "\n"


def dot(report: Report) -> str:
    """A Graphviz digraph: dashed edges for events, red for violations."""
    lines = ["digraph modules {", "    rankdir=LR;", "    node [shape=box];"]
    lines += [f'    "{m.name}";' for m in report.project.modules]
    for source, target, kind in _edges(report):
        style = {
            "ok": "",
            "event": ' [style=dashed, label="events"]',
            "violation": ' [color=red, penwidth=2, label="violation"]',
        }[kind]
        lines.append(f'    "{source}" -> "{target}"{style};')
    lines.append("}")
    return "\n".join(lines) + "\n"
