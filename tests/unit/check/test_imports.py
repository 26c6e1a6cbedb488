"""The import scanner: every import form, strings and comments ignored, any Python version."""

from __future__ import annotations

import pytest

from dolmen.check._imports import RawImport, UnreadableFile, scan


def found(source: str) -> list[tuple[int, str, str, bool, bool]]:
    return [(i.line, i.module, i.name, i.type_checking, i.dynamic) for i in scan(source)]


def test_plain_imports_with_aliases_and_several_names() -> None:
    assert found("import os, sys as system\nimport a.b.c\n") == [
        (1, "os", "", False, False),
        (1, "sys", "", False, False),
        (2, "a.b.c", "", False, False),
    ]


def test_from_imports_relative_and_absolute() -> None:
    assert found("from . import sibling\nfrom ..pkg.mod import name as n\nfrom a.b import c\n") == [
        (1, ".", "sibling", False, False),
        (2, "..pkg.mod", "name", False, False),
        (3, "a.b", "c", False, False),
    ]


def test_multi_line_imports_in_parentheses_and_with_backslashes() -> None:
    source = (
        "from shop.orders import (\n    api,  # the contract\n    web as w,\n)\n"
        "from x import \\\n    y\n"
    )
    assert found(source) == [
        (1, "shop.orders", "api", False, False),
        (1, "shop.orders", "web", False, False),
        (5, "x", "y", False, False),
    ]


def test_statements_after_a_semicolon() -> None:
    assert found("import a; from b import c\n") == [
        (1, "a", "", False, False),
        (1, "b", "c", False, False),
    ]


def test_imports_inside_functions_and_classes_count() -> None:
    source = "def f():\n    import inner\n\nclass C:\n    from pkg import thing\n"
    assert found(source) == [(2, "inner", "", False, False), (5, "pkg", "thing", False, False)]


def test_type_checking_blocks_are_marked_but_their_else_is_not() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from shop.billing.api import PaymentCaptured\n"
        "\n"
        "    import typing_only\n"
        "else:\n"
        "    import at_runtime\n"
        "import after\n"
    )
    assert found(source) == [
        (1, "typing", "TYPE_CHECKING", False, False),
        (3, "shop.billing.api", "PaymentCaptured", True, False),
        (5, "typing_only", "", True, False),
        (7, "at_runtime", "", False, False),
        (8, "after", "", False, False),
    ]


def test_import_module_with_a_literal_is_an_import() -> None:
    source = 'import importlib\nplugin = importlib.import_module("shop.plugins.fast")\n'
    assert found(source)[1] == (2, "shop.plugins.fast", "", False, True)


def test_import_lookalikes_in_strings_and_comments_are_not_imports() -> None:
    source = (
        '"""How to use it:\n'
        "import not_real\n"
        "from not_real import nothing\n"
        '"""\n'
        "# import commented_out\n"
        "text = 'import quoted'\n"
        "import real\n"
    )
    assert found(source) == [(7, "real", "", False, False)]


def test_code_for_a_newer_python_is_still_read() -> None:
    source = (
        "from shop.catalog.api import Sku\n"
        "type Alias[T] = list[T]\n"
        "class Box[T]:\n"
        '    """A box.\n    import fake\n    """\n'
        "    def get[S](self) -> S:\n"
        "        from shop.orders import api\n"
    )
    assert found(source) == [
        (1, "shop.catalog.api", "Sku", False, False),
        (8, "shop.orders", "api", False, False),
    ]


def test_columns_point_at_the_statement() -> None:
    [imp] = scan("def f():\n    from a import b\n")
    assert imp == RawImport("a", "b", 2, 4, False)


def test_a_file_that_cannot_be_read_is_reported_with_its_line() -> None:
    source = '"""doc\nimport x\n"""\nimport y\ns = """never closed\n'
    with pytest.raises(UnreadableFile) as error:
        scan(source)
    assert error.value.line == 5
