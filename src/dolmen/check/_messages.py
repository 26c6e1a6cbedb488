"""What each rule says about one import statement: every offending name, and what to change.

A statement such as ``from acme.catalog._internal import a, b, c`` breaks a rule once,
however many names it imports; the message names them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from dolmen.check._model import ModuleSpec


class Hit(NamedTuple):
    """One imported name that breaks ``rule`` (one statement may hold several)."""

    rule: str
    module: str
    """The module the violation is reported under."""
    key: str
    """What the baseline identifies this name by (a dotted target, a module name …)."""
    target: str
    """The dotted name the import reaches."""
    name: str
    """The name as imported from ``target`` (``from m import name``), else empty."""
    owner: ModuleSpec | None = None
    detail: str = ""
    """A rule's own fact: the forbidden package, the lower layer, the importing file …"""


def statement_message(hits: list[Hit], context: dict[str, str]) -> str:
    """The one message of ``hits``, all of one rule, all from one import statement."""
    return _BUILDERS[hits[0].rule](hits, context)


def and_list(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    seen = list(dict.fromkeys(items))
    return seen[0] if len(seen) == 1 else f"{', '.join(seen[:-1])} and {seen[-1]}"


def names(hits: Iterable[Hit], *, nested: bool = False) -> str:
    """``'acme.x' (a, b) and 'acme.y'``: each target reached, with the names taken from it.

    ``nested`` (inside parentheses already): ``'acme.x': a, b; 'acme.y'``.
    """
    taken: dict[str, list[str]] = {}
    for hit in hits:
        shown = taken.setdefault(hit.target, [])
        absorbed = not hit.name or hit.target.endswith(f".{hit.name}") or hit.target == hit.name
        if not absorbed and hit.name not in shown:
            shown.append(hit.name)
    if nested:
        return "; ".join(
            f"{target!r}: {', '.join(taken[target])}" if taken[target] else repr(target)
            for target in taken
        )
    return and_list(
        f"{target!r} ({', '.join(taken[target])})" if taken[target] else repr(target)
        for target in taken
    )


def _by_owner(hits: list[Hit]) -> list[tuple[ModuleSpec, list[Hit]]]:
    groups: dict[str, tuple[ModuleSpec, list[Hit]]] = {}
    for hit in hits:
        if hit.owner is not None:
            groups.setdefault(hit.owner.name, (hit.owner, []))[1].append(hit)
    return list(groups.values())


def _public(owner: ModuleSpec) -> str:
    return ", ".join(
        owner.package if part == "__init__" else f"{owner.package}.{part}" for part in owner.public
    )


def _apis(owners: list[ModuleSpec]) -> str:
    if len(owners) == 1:
        return f"its public API ({_public(owners[0])})"
    return f"their public APIs ({'; '.join(_public(owner) for owner in owners)})"


def _forbidden(hits: list[Hit], context: dict[str, str]) -> str:
    layer, module = context["layer"], hits[0].module
    packages = and_list(hit.detail for hit in hits)
    return (
        f"layer {layer!r} of module {module!r} imports {names(hits)}; keep {packages} out of "
        f"the {layer} (put that code in an adapter behind a port)"
    )


def _outside(hits: list[Hit], context: dict[str, str]) -> str:
    groups = _by_owner(hits)
    parts = and_list(f"{names(group)} of module {owner.name!r}" for owner, group in groups)
    owners = [owner for owner, _ in groups]
    return f"{context['importer']!r} (outside every module) imports {parts}; use {_apis(owners)}"


def _layer(hits: list[Hit], context: dict[str, str]) -> str:
    module, upper, may = hits[0].module, context["layer"], context["may"]
    lowers: dict[str, list[Hit]] = {}
    for hit in hits:
        lowers.setdefault(hit.detail, []).append(hit)
    parts = and_list(
        f"layer {lower!r} ({names(group, nested=True)})" for lower, group in lowers.items()
    )
    lower_names = and_list(lowers)
    return (
        f"in module {module!r}, layer {upper!r} imports {parts}; {upper} may use {may}. Move "
        f"what {upper} needs from {lower_names} into {upper}"
        f"{'' if may == 'no other layer' else ' (or a layer it may use)'}, or invert the "
        f"dependency behind a port that {upper} declares and {lower_names} implements"
    )


def _undeclared(hits: list[Hit], context: dict[str, str]) -> str:
    module = hits[0].module
    groups = _by_owner(hits)
    owners = and_list(repr(owner.name) for owner, _ in groups)
    parts = and_list(
        f"module {owner.name!r} ({names(group, nested=True)})" for owner, group in groups
    )
    one = len(groups) == 1
    return (
        f"module {module!r} uses {parts} without declaring {'it' if one else 'them'}; add "
        f"{owners} to depends_on of {module!r} (or to listens_to if it only handles "
        f"{'that module' if one else 'those modules'}'s events)"
    )


def _private(hits: list[Hit], context: dict[str, str]) -> str:
    module = hits[0].module
    groups = _by_owner(hits)
    parts = and_list(
        f"{names(group)}, {_parts(group)} of module {owner.name!r}" for owner, group in groups
    )
    owners = [owner for owner, _ in groups]
    return f"module {module!r} imports {parts}; import from {_apis(owners)} instead"


def _parts(group: list[Hit]) -> str:
    return "a private part" if len({hit.target for hit in group}) == 1 else "private parts"


def _module_layer(hits: list[Hit], context: dict[str, str]) -> str:
    module, upper = hits[0].module, context["rank"]
    groups = _by_owner(hits)
    parts = and_list(
        f"module {owner.name!r} ({names(group, nested=True)}) of a higher layer ({group[0].detail})"
        for owner, group in groups
    )
    owners = and_list(repr(owner.name) for owner, _ in groups)
    return (
        f"module {module!r} (layer {upper}) imports {parts}; lower layers may not use higher "
        f"ones. Move what {module!r} needs from {owners} down into a module of layer {upper} or "
        f"below, or invert the dependency behind a port that {module!r} declares"
    )


_BUILDERS: dict[str, Callable[[list[Hit], dict[str, str]], str]] = {
    "forbidden-import": _forbidden,
    "outside-import": _outside,
    "layer-violation": _layer,
    "undeclared-dependency": _undeclared,
    "private-import": _private,
    "module-layer-violation": _module_layer,
}
