"""The import scanner: every import form, strings and comments ignored, any Python version."""

from __future__ import annotations

import warnings

import pytest

from dolmen.check._imports import (
    BinaryFile,
    RawImport,
    UndecodableFile,
    UnreadableFile,
    scan,
    scan_bytes,
)


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
    # A string never closed before an import: where it ends decides what is code. (One
    # after the last import hides none; the syntax judgement of parse-error reports it.)
    source = '"""doc\nimport x\n"""\nimport y\ns = """never closed\nimport z\n'
    with pytest.raises(UnreadableFile) as error:
        scan(source)
    assert error.value.line == 5


# Every form Python runs, and nothing it does not (issue 13): each read as ast reads it.


def test_an_import_after_a_compound_header_on_the_same_line_counts() -> None:
    source = "try: import fast_json\nexcept ImportError: fast_json = None\nif c: from x import y\n"
    assert found(source) == [(1, "fast_json", "", False, False), (3, "x", "y", False, False)]


def test_an_import_after_a_semicolon_following_other_code_counts() -> None:
    [imp] = scan("x = 1; import y\n")
    assert imp == RawImport("y", "", 1, 7, False)


def test_a_backslash_between_the_module_and_import_is_one_statement() -> None:
    source = "from shop.billing \\\n    import gateway\nfrom \\\n  x import y\n"
    assert found(source) == [
        (1, "shop.billing", "gateway", False, False),
        (3, "x", "y", False, False),
    ]


def test_from_import_with_the_bracket_against_import_counts() -> None:
    assert found("from x import(y, z)\nfrom.sibling import w\n") == [
        (1, "x", "y", False, False),
        (1, "x", "z", False, False),
        (2, ".sibling", "w", False, False),
    ]


def test_the_first_import_of_a_file_with_a_byte_order_mark_counts() -> None:
    assert scan("\ufeffimport first\n") == [RawImport("first", "", 1, 0, False)]
    assert scan_bytes(b"\xef\xbb\xbfimport first\r\n") == [RawImport("first", "", 1, 0, False)]


def test_import_module_in_comments_strings_and_docstrings_is_no_import() -> None:
    source = (
        '"""Load a plugin with importlib.import_module("doc.plugin")."""\n'
        "import importlib\n"
        '# importlib.import_module("commented.out")\n'
        "hint = 'call __import__(\"quoted\")'\n"
        'plugin = importlib.import_module("real.plugin")\n'
        'other.import_module("not.importlib")\n'
    )
    assert found(source) == [
        (2, "importlib", "", False, False),
        (5, "real.plugin", "", False, True),
    ]


def test_dunder_import_with_a_literal_is_an_import_at_the_call() -> None:
    assert scan('x = 1\nmod = __import__("a.b")\n') == [RawImport("a.b", "", 2, 6, False, True)]


def test_carriage_return_line_ends_keep_every_import_and_its_line() -> None:
    for end in ("\r\n", "\r"):
        source = end.join(["import a", "", "from b import (", "    c,", ")", "import d", ""])
        assert found(source) == [
            (1, "a", "", False, False),
            (3, "b", "c", False, False),
            (6, "d", "", False, False),
        ], repr(end)


def test_form_feeds_and_tabs_are_whitespace() -> None:
    source = "\f\nimport\fa\n\fimport b\nif c:\n\tfrom d import e\n"
    assert found(source) == [
        (2, "a", "", False, False),
        (3, "b", "", False, False),
        (5, "d", "e", False, False),
    ]


def test_type_checking_one_liners_elif_and_blocks_with_strings_are_guarded() -> None:
    source = (
        "if TYPE_CHECKING: import one_liner\n"
        "if x:\n"
        "    pass\n"
        "elif typing.TYPE_CHECKING:\n"
        "    from a import b\n"
        "if TYPE_CHECKING:\n"
        '    text = """\n'
        'at column 0\n"""\n'
        "    import still_guarded\n"
        "import outside\n"
    )
    assert found(source) == [
        (1, "one_liner", "", True, False),
        (5, "a", "b", True, False),
        (10, "still_guarded", "", True, False),
        (11, "outside", "", False, False),
    ]


def test_a_triple_quote_inside_a_plain_string_does_not_hide_a_docstring() -> None:
    source = 'import real\nquote = \'"""\'\nx = 1\n"""\nimport in_docstring\n"""\n'
    assert found(source) == [(1, "real", "", False, False)]


def test_a_file_with_nul_bytes_is_reported_as_binary() -> None:
    with pytest.raises(BinaryFile) as error:
        scan_bytes(b"import os\n\x00\x01\x02")
    assert error.value.line == 2
    assert "binary" in error.value.reason
    with pytest.raises(BinaryFile):
        scan("import os\n\x00")


def test_a_file_that_is_not_text_in_its_encoding_is_reported_as_undecodable() -> None:
    with pytest.raises(UndecodableFile) as error:
        scan_bytes(b"import os\nx = '\xff\xfe'\n")
    assert error.value.line == 2
    assert isinstance(error.value, UnreadableFile)


def test_an_encoding_declaration_is_honoured() -> None:
    data = b"# -*- coding: latin-1 -*-\ns = '\xe9'\nfrom caf\xe9 import menu\n"
    assert scan_bytes(data) == [RawImport("caf\xe9", "menu", 3, 0, False)]


def test_a_type_checking_block_indented_with_tabs_is_guarded() -> None:
    source = "try:\n\tif TYPE_CHECKING:\n\t\timport a\nexcept ImportError:\n\tpass\n"
    assert found(source) == [(3, "a", "", True, False)]


def test_a_dynamic_import_with_an_escape_in_its_literal_warns_nothing() -> None:
    source = 'import_module("a\\.b")\nimport_module("\\x61")\n'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert found(source) == [(2, "a", "", False, True)]
    assert caught == []
