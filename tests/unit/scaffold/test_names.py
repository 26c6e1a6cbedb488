"""Which names dolmen new accepts for a project or a module, and how it refuses the others."""

from __future__ import annotations

import pytest

from dolmen.scaffold import InvalidNameError, check_module_name, check_project_name


@pytest.mark.parametrize("name", ["billing", "order_lines", "a1", "inventory_management_xy"])
def test_lower_case_identifiers_are_module_names(name: str) -> None:
    check_module_name(name)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Billing", "e.g. 'billing'"),
        ("order-lines", "e.g. 'order_lines'"),
        ("1st", "starting with a letter"),
        ("_private", "starting with a letter"),
        ("", "not valid"),
        ("bill ing", "e.g. 'bill_ing'"),
        ("naïve", "lower-case letters"),
        ("a" * 25, "keep it to 24"),
    ],
)
def test_names_that_are_not_lower_case_identifiers_are_refused(name: str, says: str) -> None:
    with pytest.raises(InvalidNameError, match=r"not valid|keep it to") as refused:
        check_module_name(name)
    assert says in str(refused.value)


@pytest.mark.parametrize("name", ["class", "import", "async", "match", "case"])
def test_python_keywords_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError, match="is a Python keyword"):
        check_module_name(name)


@pytest.mark.parametrize("name", ["email", "json", "queue", "secrets", "types"])
def test_standard_library_names_are_refused_with_another_suggested(name: str) -> None:
    with pytest.raises(InvalidNameError, match="standard library") as refused:
        check_module_name(name)
    assert f"'my_{name}'" in str(refused.value)


@pytest.mark.parametrize("name", ["app", "events", "dolmen"])
def test_the_framework_sections_and_reserved_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError, match=f"module name '{name}' is taken by Dolmen"):
        check_module_name(name)


@pytest.mark.parametrize("name", ["public", "information_schema", "pg_stats"])
def test_postgresql_schemas_are_refused(name: str) -> None:
    with pytest.raises(InvalidNameError, match="PostgreSQL"):
        check_module_name(name)


def test_a_taken_name_is_refused_with_what_takes_it() -> None:
    with pytest.raises(InvalidNameError, match=r"'notes' is taken: notes/ exists"):
        check_module_name("notes", {"notes": "notes/ exists"})


@pytest.mark.parametrize("name", ["dolmen", "fastapi", "pytest", "sqlalchemy"])
def test_a_project_may_not_shadow_an_installed_package(name: str) -> None:
    with pytest.raises(InvalidNameError, match="already an installed package"):
        check_project_name(name)


def test_a_project_name_follows_the_module_rules_too() -> None:
    with pytest.raises(InvalidNameError, match="standard library"):
        check_project_name("json")
    with pytest.raises(InvalidNameError, match="not valid"):
        check_project_name("My-Shop")
    check_project_name("acme_store")
