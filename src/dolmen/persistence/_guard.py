"""Refuse, at run time, a module's session touching another module's tables."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import event
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


def check_statement(statement: object, module: str, modules: Collection[str]) -> None:
    """Raise if ``statement`` names a table of a module other than ``module``."""
    for element in visitors.iterate(statement):  # type: ignore[arg-type]
        if isinstance(element, TableClause):
            owner = element.schema
            if owner and owner != module and owner in modules:
                raise CrossModuleDataAccessError(
                    f"module {module!r} queried table {element.name!r}, which module "
                    f"{owner!r} owns; call a public service of {owner!r} instead "
                    "(modules never share tables)"
                )
