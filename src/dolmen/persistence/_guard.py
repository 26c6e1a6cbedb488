"""Refuse, at run time, a module's session touching another module's tables."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import TableClause

from dolmen.persistence.exceptions import CrossModuleDataAccessError

MODULE_KEY = "dolmen.module"
MODULES_KEY = "dolmen.modules"


class ModuleSession(Session):
    """A session that belongs to one module and executes only on that module's tables."""


@event.listens_for(ModuleSession, "do_orm_execute")
def _refuse_foreign_tables(state: ORMExecuteState) -> None:
    info = state.session.info
    check_statement(state.statement, info[MODULE_KEY], info[MODULES_KEY])


@event.listens_for(ModuleSession, "before_flush")
def _refuse_foreign_objects(session: Session, _context: object, _instances: object) -> None:
    module, modules = session.info[MODULE_KEY], session.info[MODULES_KEY]
    for instance in (*session.new, *session.dirty, *session.deleted):
        for table in inspect(instance).mapper.tables:
            _check_table(table, module, modules)


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
