"""Compare two JSON schemas of an event: what changed in a way stored events cannot follow."""

from __future__ import annotations

import json
from typing import Any

Json = dict[str, Any]


def schema_changes(old: Json, new: Json) -> list[str]:
    """The breaking differences from JSON schema ``old`` to ``new`` (an event's), in words.

    Compared: the fields (removed ones, new required ones), and each kept field's type,
    through ``$ref``, ``anyOf``/``oneOf``, list items, dict values, tuple items and nested
    models. A type may widen: a union may gain members, ``integer`` may become ``number``,
    an enum may gain values, a string may lose its ``format``, and anything may become
    ``Any``. Constraints (lengths, ranges, patterns), defaults, titles and descriptions are
    not compared.
    """
    return _Comparison(old, new).changes(old, new, "")


class _Comparison:
    """Two versions of one JSON schema, each with its own ``$defs``."""

    def __init__(self, old: Json, new: Json) -> None:
        self.old_defs: Json = old.get("$defs", {})
        self.new_defs: Json = new.get("$defs", {})
        self.comparing: set[tuple[int, int]] = set()

    def _fields(self, old: Json, new: Json, path: str) -> list[str]:
        """Field by field: removed fields, new required fields, changed field types."""
        prefix = f"{path}." if path else ""
        old_fields: Json = old.get("properties", {})
        new_fields: Json = new.get("properties", {})
        required = set(new.get("required", ()))
        changes: list[str] = []
        for name in sorted(old_fields):
            if name not in new_fields:
                changes.append(f"removed field `{prefix}{name}`")
            else:
                changes += self.changes(old_fields[name], new_fields[name], prefix + name)
        changes += [
            f"new required field `{prefix}{name}` without a default"
            for name in sorted(required - set(old_fields))
            if name in new_fields
        ]
        return changes

    def changes(self, old: Json, new: Json, path: str) -> list[str]:
        """Why values valid for ``old`` may be invalid for ``new``.

        Every member of an old union must still be accepted by some member of the new one.
        """
        old, new = _resolve(old, self.old_defs), _resolve(new, self.new_defs)
        pair = (id(old), id(new))  # a $ref leads to the same object wherever it is used
        if pair in self.comparing:
            return []  # a recursive type: it is being compared further up
        self.comparing.add(pair)
        try:
            return self._union(old, new, path)
        finally:
            self.comparing.discard(pair)

    def _union(self, old: Json, new: Json, path: str) -> list[str]:
        old_members = _members(old, self.old_defs)
        new_members = _members(new, self.new_defs)
        if len(old_members) == 1 and len(new_members) == 1:
            return self._member(old_members[0], new_members[0], path)
        for member in old_members:
            attempts = [(other, self._member(member, other, path)) for other in new_members]
            if any(not reasons for _, reasons in attempts):
                continue
            alike = sorted(
                (other.get("title") != member.get("title"), index)
                for index, (other, _) in enumerate(attempts)
                if _kind(other) == _kind(member)
            )  # the same kind of thing, changed: the same title first
            return attempts[alike[0][1]][1] if alike else [self._retyped(old, new, path)]
        return []

    def _member(self, old: Json, new: Json, path: str) -> list[str]:
        """The changes between two schemas that are neither unions nor references."""
        old_kind, new_kind = _kind(old), _kind(new)
        if new_kind == "any":
            return []
        if old_kind != new_kind and (old_kind, new_kind) != ("integer", "number"):
            return [self._retyped(old, new, path)]
        if old_kind == "model":
            return self._fields(old, new, path)
        old_values, new_values = _values(old), _values(new)
        if new_values is not None and (old_values is None or not old_values <= new_values):
            return [self._retyped(old, new, path)]
        if new.get("format") is not None and new.get("format") != old.get("format"):
            return [self._retyped(old, new, path)]
        return self._parts(old, new, path)

    def _parts(self, old: Json, new: Json, path: str) -> list[str]:
        """The changes inside a list, tuple or dict: its items' or values' types."""
        changes: list[str] = []
        old_tuple, new_tuple = old.get("prefixItems"), new.get("prefixItems")
        if old_tuple is not None or new_tuple is not None:
            if old_tuple is None or new_tuple is None or len(old_tuple) != len(new_tuple):
                return [self._retyped(old, new, path)]
            for index, (before, after) in enumerate(zip(old_tuple, new_tuple, strict=True)):
                changes += self.changes(before, after, f"{path}[{index}]")
        for key, suffix in (("items", "[]"), ("additionalProperties", ".*")):
            before, after = old.get(key), new.get(key)
            if isinstance(after, dict):
                earlier = before if isinstance(before, dict) else {}
                changes += self.changes(earlier, after, path + suffix)
        return changes

    def _retyped(self, old: Json, new: Json, path: str) -> str:
        return (
            f"field `{path}` changed type from {_describe(old, self.old_defs)} to "
            f"{_describe(new, self.new_defs)}"
        )


def _resolve(node: Json, defs: Json) -> Json:
    """``node`` with ``$ref`` (into ``$defs``) and a lone ``allOf`` followed."""
    seen: set[str] = set()
    while True:
        if "$ref" in node and node["$ref"] not in seen:
            seen.add(node["$ref"])
            node = defs.get(str(node["$ref"]).rpartition("/")[2], {})
        elif isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        else:
            return node


def _members(node: Json, defs: Json) -> list[Json]:
    """The members of a union (``anyOf``, ``oneOf``, a list of types), references followed."""
    node = _resolve(node, defs)
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            return [member for option in node[key] for member in _members(option, defs)]
    types = node.get("type")
    if isinstance(types, list):
        return [{**node, "type": kind} for kind in types]
    return [node]


def _kind(node: Json) -> str:
    """``model`` for an object with fields, ``any`` for no constraint, else the JSON type."""
    if "properties" in node:
        return "model"
    kind = node.get("type")
    if kind is None:
        return "enum" if "enum" in node or "const" in node else "any"
    return str(kind)


def _values(node: Json) -> set[str] | None:
    """The values an ``enum`` or ``const`` allows, as JSON text; None when unconstrained."""
    if "const" in node:
        return {json.dumps(node["const"], sort_keys=True)}
    if isinstance(node.get("enum"), list):
        return {json.dumps(value, sort_keys=True) for value in node["enum"]}
    return None


def _describe(node: Json, defs: Json) -> str:
    """A schema as a reader would name its type: ``integer``, ``Address | null``."""
    members = _members(node, defs)
    if len(members) > 1:
        return " | ".join(_describe(member, defs) for member in members)
    [node] = members
    values = _values(node)
    if values is not None:
        return " | ".join(sorted(values))
    kind = _kind(node)
    if kind == "model":
        return str(node.get("title", "object"))
    if kind == "array" and isinstance(node.get("prefixItems"), list):
        return f"tuple ({', '.join(_describe(item, defs) for item in node['prefixItems'])})"
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"array of {_describe(node['items'], defs)}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"object of {_describe(node['additionalProperties'], defs)}"
    return f"{kind} ({node['format']})" if "format" in node else kind
