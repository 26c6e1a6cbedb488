"""Refuse, at run time, a module's session touching another module's tables."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import TableClause

from dolmen.persistence.exceptions import CrossModuleDataAccessError, ReadOnlyWorkError

MODULE_KEY = "dolmen.module"
MODULES_KEY = "dolmen.modules"
READ_ONLY_KEY = "dolmen.read_only"

_VERDICTS: dict[tuple[str, object, object], bool] = {}
"""Statement shapes already found clean, per module and set of modules (an app's), keyed by
SQLAlchemy's cache key of the statement."""
_MAX_VERDICTS = 10_000


class ModuleSession(Session):
    """A session that belongs to one module and executes only on that module's tables."""


@event.listens_for(ModuleSession, "do_orm_execute")
def _refuse_foreign_tables(state: ORMExecuteState) -> None:
    info = state.session.info
    module = info[MODULE_KEY]
    if info.get(READ_ONLY_KEY) and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlyWorkError(_read_only_message(module))
    statement = state.statement
    # SQLAlchemy computes (and memoizes) this key for its compiled cache anyway.
    cache_key = statement._generate_cache_key()  # type: ignore[attr-defined]
    modules = info[MODULES_KEY]
    shape = (module, modules, cache_key.key) if cache_key is not None else None
    if shape is not None and shape in _VERDICTS:
        return
    check_statement(statement, module, modules)
    if shape is not None:
        if len(_VERDICTS) >= _MAX_VERDICTS:
            _VERDICTS.clear()
        _VERDICTS[shape] = True


@event.listens_for(ModuleSession, "before_flush")
def _refuse_foreign_objects(session: Session, _context: object, _instances: object) -> None:
    module, modules = session.info[MODULE_KEY], session.info[MODULES_KEY]
    if session.info.get(READ_ONLY_KEY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlyWorkError(_read_only_message(module))
    for instance in (*session.new, *session.dirty, *session.deleted):
        for table in inspect(instance).mapper.tables:
            _check_table(table, module, modules)


def _read_only_message(module: str) -> str:
    return (
        f"module {module!r} tried to write in a read-only unit of work (a GET, HEAD or "
        "OPTIONS request); change data in a POST, PUT, PATCH or DELETE request"
    )


def check_statement(statement: object, module: str, modules: Collection[str]) -> None:
    """Raise if ``statement`` names a table of a module other than ``module``."""
    for element in visitors.iterate(statement):  # type: ignore[arg-type]
        if isinstance(element, TableClause):
            _check_table(element, module, modules)


def _check_table(table: TableClause, module: str, modules: Collection[str]) -> None:
    owner = table.schema
    if owner and owner != module and owner in modules:
        raise CrossModuleDataAccessError(
            f"module {module!r} used table {table.name!r}, which module {owner!r} owns; "
            f"call a public service of {owner!r} instead (modules never share tables)"
        )
