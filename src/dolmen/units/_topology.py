"""``Topology``: which unit runs which module, checked against the app's modules."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from dolmen.units._settings import UNIT_NAME, UnitsSettings

SINGLE_UNIT = "main"
"""The name of the one unit of an app that declares none."""

_UNIT_NAME = re.compile(UNIT_NAME)


class PlacedModule(Protocol):
    """A module as the topology sees it (``dolmen.Module`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def depends_on(self) -> Sequence[str]: ...


class TopologyError(ValueError):
    """The ``[units]`` section does not fit the app's modules; ``problems`` lists each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        header = f"[units] has {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))


@dataclass(frozen=True, slots=True)
class Unit:
    """A deployment unit: the modules one kind of process runs, and where others reach it."""

    name: str
    modules: tuple[str, ...]
    url: str | None = None
    replicas: int = 1


@dataclass(frozen=True, slots=True)
class CrossUnitCall:
    """Module ``caller`` (in unit ``caller_unit``) uses services of ``target`` in another."""

    caller: str
    caller_unit: str
    target: str
    target_unit: str


@dataclass(frozen=True, slots=True)
class Topology:
    """The app's units, the one this process runs (None: all of them), the calls across."""

    units: tuple[Unit, ...]
    current: str | None
    calls: tuple[CrossUnitCall, ...] = ()

    @classmethod
    def single(cls, modules: Iterable[str]) -> Topology:
        """One unit holding every module: an app that declares no units."""
        return cls((Unit(SINGLE_UNIT, tuple(modules)),), None)

    @classmethod
    def of(cls, settings: UnitsSettings, modules: Sequence[PlacedModule]) -> Topology:
        """The topology ``settings`` declare for ``modules``; TopologyError lists each problem."""
        names = [m.name for m in modules]
        if not settings.unit:
            problems = []
            if settings.current not in (None, SINGLE_UNIT):
                problems.append(
                    f"current = {settings.current!r} names a unit, but no unit is declared: "
                    f"declare [units.unit.{settings.current}] or leave current unset"
                )
            if problems:
                raise TopologyError(problems)
            return cls.single(names)
        problems = _problems(settings, names)
        if problems:
            raise TopologyError(problems)
        units = tuple(
            Unit(name, tuple(unit.modules), unit.url, unit.replicas)
            for name, unit in settings.unit.items()
        )
        unit_of = {module: unit.name for unit in units for module in unit.modules}
        calls = tuple(
            CrossUnitCall(m.name, unit_of[m.name], target, unit_of[target])
            for m in modules
            for target in m.depends_on
            if target in unit_of and unit_of[target] != unit_of[m.name]
        )
        topology = cls(units, settings.current, calls)
        problems = topology._call_problems(settings)
        if problems:
            raise TopologyError(problems)
        return topology

    @property
    def split(self) -> bool:
        """Whether the app has more than one unit."""
        return len(self.units) > 1

    @property
    def local_modules(self) -> frozenset[str]:
        """The modules this process runs: its unit's, or every module when no unit is chosen."""
        if self.current is None:
            return frozenset(m for unit in self.units for m in unit.modules)
        return frozenset(self.unit(self.current).modules)

    def unit(self, name: str) -> Unit:
        """The unit called ``name``; KeyError if there is none."""
        for unit in self.units:
            if unit.name == name:
                return unit
        raise KeyError(name)

    def unit_of(self, module: str) -> Unit:
        """The unit that runs ``module``; KeyError if none does."""
        for unit in self.units:
            if module in unit.modules:
                return unit
        raise KeyError(module)

    def is_local(self, module: str) -> bool:
        """Whether this process runs ``module`` (every module when no unit is chosen)."""
        return module in self.local_modules

    def _call_problems(self, settings: UnitsSettings) -> list[str]:
        problems = []
        for unit in sorted({c.target_unit for c in self.calls}):
            if self.unit(unit).url is None:
                callers = sorted(
                    {f"{c.caller} -> {c.target}" for c in self.calls if c.target_unit == unit}
                )
                problems.append(
                    f"unit {unit!r} is called by other units ({', '.join(callers)}) but has "
                    f'no url: set [units.unit.{unit}] url = "http://<host>:<port>"'
                )
        if self.calls and settings.secret is None:
            problems.append(
                "units call each other but [units] secret is not set: set a random string of "
                "at least 32 characters, the same in every unit (DOLMEN__UNITS__SECRET, or a "
                "secrets file units__secret)"
            )
        if settings.transport != "database" and settings.broker_url is None:
            problems.append(
                f"transport = {settings.transport!r} needs broker_url (the broker's address, "
                f"e.g. {_EXAMPLE_URLS[settings.transport]})"
            )
        return problems


_EXAMPLE_URLS = {
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
    "nats": "nats://127.0.0.1:4222",
    "redis": "redis://127.0.0.1:6379/0",
    "database": "",
}


def _problems(settings: UnitsSettings, modules: Sequence[str]) -> list[str]:
    problems: list[str] = []
    placed: dict[str, str] = {}
    for name, unit in settings.unit.items():
        if not _UNIT_NAME.match(name):
            problems.append(
                f"unit name {name!r} is not valid: use lower-case letters, digits and '-', "
                "starting with a letter, at most 40 characters (it names a service)"
            )
        for module in unit.modules:
            if module not in modules:
                problems.append(
                    f"unit {name!r} lists module {module!r}, which the app does not have"
                    f"{_did_you_mean(module, modules)}"
                )
            elif module in placed:
                problems.append(
                    f"module {module!r} is in units {placed[module]!r} and {name!r}: put it "
                    "in one of them"
                )
            else:
                placed[module] = name
    missing = [m for m in modules if m not in placed]
    if missing:
        problems.append(
            f"module{'s' if len(missing) != 1 else ''} {', '.join(map(repr, missing))} "
            f"{'are' if len(missing) != 1 else 'is'} in no unit: add "
            f"{'them' if len(missing) != 1 else 'it'} to the modules of one"
        )
    if settings.current is not None and settings.current not in settings.unit:
        problems.append(
            f"current = {settings.current!r} is not a unit"
            f"{_did_you_mean(settings.current, list(settings.unit))}"
        )
    return problems


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (it has {', '.join(map(repr, known))})" if known else ""
