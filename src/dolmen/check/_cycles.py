"""Every elementary cycle of a small directed graph (Johnson's algorithm)."""

from __future__ import annotations

from collections.abc import Mapping


def elementary_cycles(graph: Mapping[str, set[str]], limit: int = 1000) -> list[list[str]]:
    """The elementary cycles, each as a path closed at both ends, at most ``limit`` of them.

    Each cycle starts at its smallest node, so the same cycle is always written
    the same way: ``["billing", "orders", "billing"]``.
    """
    nodes = sorted(set(graph) | {n for targets in graph.values() for n in targets})
    cycles: list[list[str]] = []
    for index, start in enumerate(nodes):
        allowed = set(nodes[index:])
        _from(start, graph, allowed, cycles, limit)
        if len(cycles) >= limit:
            break
    return cycles


def _from(
    start: str,
    graph: Mapping[str, set[str]],
    allowed: set[str],
    cycles: list[list[str]],
    limit: int,
) -> None:
    blocked: set[str] = set()
    blocked_by: dict[str, set[str]] = {n: set() for n in allowed}
    path = [start]
    stack = [iter(sorted(graph.get(start, set()) & allowed))]
    found_on = [False]
    blocked.add(start)
    while stack and len(cycles) < limit:
        nxt = next(stack[-1], None)
        if nxt is not None:
            if nxt == start:
                cycles.append([*path, start])
                found_on[-1] = True
            elif nxt not in blocked:
                path.append(nxt)
                blocked.add(nxt)
                stack.append(iter(sorted(graph.get(nxt, set()) & allowed)))
                found_on.append(False)
            continue
        node, found = path.pop(), found_on.pop()
        stack.pop()
        if found:
            _unblock(node, blocked, blocked_by)
            if found_on:
                found_on[-1] = True
        else:
            for target in graph.get(node, set()) & allowed:
                blocked_by[target].add(node)


def _unblock(node: str, blocked: set[str], blocked_by: dict[str, set[str]]) -> None:
    pending = [node]
    while pending:
        current = pending.pop()
        if current in blocked:
            blocked.discard(current)
            pending.extend(blocked_by[current])
            blocked_by[current].clear()
