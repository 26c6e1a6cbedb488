"""The import scanner reads every file as Python's ``ast`` does: generated files of every form.

The reference (:mod:`.ast_reference`) reads imports with :mod:`ast`.
"""

from __future__ import annotations

import codecs

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .ast_reference import reference, scanned

# Generated files -------------------------------------------------------------------------

_NAMES = st.sampled_from(["a", "b", "pkg", "x_1", "été", "TYPE_CHECKING"])
_DOTTED = st.lists(_NAMES, min_size=1, max_size=3).map(".".join)
_SPACE = [" ", "  ", "\t", " \f"]


@st.composite
def _import_statement(draw: st.DrawFn, plain: bool) -> str:
    """One import statement, in any of its forms, on one line or several.

    ``plain`` leaves out the forms that always send a file to the token reader.
    """
    space = draw(st.sampled_from(_SPACE[:-1] if plain else _SPACE))
    kind = draw(st.sampled_from(["import", "from", "relative", "dynamic", "dunder"]))
    if kind == "import":
        parts = draw(st.lists(_DOTTED, min_size=1, max_size=3))
        aliased = [p + (" as c" if draw(st.booleans()) else "") for p in parts]
        joiner = draw(st.sampled_from([", ", " ,", ", \\\n    "]))
        return f"import{space}{joiner.join(aliased)}"
    if kind in ("from", "relative"):
        module = draw(_DOTTED)
        if kind == "relative":
            dots = draw(st.sampled_from([".", "..", "..."] if plain else [".", "..", ". ."]))
            module = dots + draw(st.sampled_from(["", " " + module, module]))
        names = draw(st.lists(_NAMES, min_size=1, max_size=3))
        listed = [n + (" as d" if draw(st.booleans()) else "") for n in names]
        shapes = ["plain", "paren", "lines", "star"] + ([] if plain else ["tight", "backslash"])
        shape = draw(st.sampled_from(shapes))
        if shape == "star":
            return f"from {module} import *"
        if shape == "paren":
            return f"from {module} import ({', '.join(listed)})"
        if shape == "lines":
            comment = draw(st.sampled_from(["", "  # import fake", "  # from x import (y"]))
            body = "".join(f"\n    {n},{comment}" for n in listed)
            return f"from {module} import ({body}\n)"
        if shape == "tight":
            return f"from {module} import({', '.join(listed)})"
        if shape == "backslash":
            return f"from {module} \\\n    import \\\n    {', '.join(listed)}"
        return f"from{space}{module}{space}import{space}{', '.join(listed)}"
    name = draw(_DOTTED)
    quote = draw(st.sampled_from(['"', "'", '"""', "r'", "f'", "b'"]))
    closing = quote[-1] * (3 if quote == '"""' else 1)
    value = "a" if quote == "b'" else name  # bytes hold ASCII only
    literal = f"{quote}{value}{closing}"
    if kind == "dunder":
        return f"__import__({literal})"
    owner = draw(st.sampled_from(["", "importlib.", "other."]))
    return f"{owner}import_module({literal})"


_DECOYS = st.sampled_from(
    [
        "# import decoy_comment",
        "# note: from decoy import x; import decoy2",
        "'import decoy_string'",
        '"from decoy import x"',
        "text = 'x = 1; import decoy'",
        '"""\nimport decoy_docstring\nfrom decoy import x\nimport_module("decoy")\n"""',
        "'''\n    if TYPE_CHECKING:\n        import decoy\n'''",
        "s = 'import_module(\"decoy\")'  # __import__('decoy')",
        "value = {'a': 1}  # import decoy",
        "x = (1 if TYPE_CHECKING else 2)",
        "# if TYPE_CHECKING: import decoy",
        'quote = \'"""\'',
        's = "a" + """\nimport decoy_in_string\n"""',
        'd = {"k": """\nfrom decoy import x\n"""}',
        '"""escaped \\""" quote\nimport decoy\n"""',
        "close = ')'",
        "r = importlib.import_module(name)",
        'r = import_module(f"decoy")',
        'r = obj.import_module("decoy")',
        'r = __import__("decoy" + suffix)',
        'r = __import__(\n    "a.b"\n)',
        "from importlib import import_module",
        "pass",
    ]
)


@st.composite
def _block(draw: st.DrawFn, plain: bool, depth: int = 0) -> list[str]:
    """Statements (lines without indentation prefix, nested blocks indented by four)."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        choices = ["import", "import", "decoy", "nest"]
        choice = draw(st.sampled_from(choices + ([] if plain else ["semicolon", "one-line"])))
        if choice == "import":
            lines.extend(draw(_import_statement(plain)).split("\n"))
        elif choice == "decoy":
            lines.extend(draw(_DECOYS).split("\n"))
        elif choice == "semicolon":
            lines.append(f"x = 1; {draw(_import_statement(plain))}".split("\n")[0])
            if "\\" in lines[-1] or ("(" in lines[-1] and ")" not in lines[-1]):
                lines[-1] = "x = 1; import semi"
        elif choice == "one-line":
            header = draw(st.sampled_from(_HEADERS))
            body = draw(_import_statement(plain))
            if "\n" in body:
                body = "import one_line"
            lines.append(f"{header} {body}")
            if header.startswith("try"):
                lines.append("except ImportError: pass")
        elif depth < 2:
            header = draw(st.sampled_from(_HEADERS))
            inner = [*draw(_block(plain, depth + 1)), "pass"]  # never empty
            joined = draw(st.sampled_from([" "] if plain else [" ", " \\\n "]))
            lines.append(header if joined == " " else header[:-1] + joined + ":")
            lines.extend("    " + line if line else line for line in inner)
            if header.startswith("try"):
                lines.append("except ImportError:")
                lines.append("    pass")
            elif header.startswith("if") and draw(st.booleans()):
                lines.append("else:")
                lines.extend("    " + line for line in [*draw(_block(plain, depth + 1)), "pass"])
    return lines


_HEADERS = [
    "if TYPE_CHECKING:",
    "if typing.TYPE_CHECKING:",
    "if (TYPE_CHECKING):",
    "if not TYPE_CHECKING:",
    "if c:",
    "try:",
    "with ctx:",
    "def f():",
    "class C:",
    "for i in x:",
    "while x:",
]


@st.composite
def python_files(draw: st.DrawFn) -> bytes:
    """A whole file: generated statements with random line ends, indentation and BOM.

    Half of them are plain: only forms the line scanner reads itself, to test it as hard
    as the token reader it hands the other files to.
    """
    plain = draw(st.booleans())
    lines = draw(_block(plain))
    indent = draw(st.sampled_from(["    ", "\t"]))
    text_lines = []
    for line in lines:
        stripped = line.lstrip(" ")
        level = (len(line) - len(stripped)) // 4
        text_lines.append(indent * level + stripped)
    if not plain and draw(st.booleans()):
        text_lines.insert(0, "\f")
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = line_end.join(text_lines) + line_end
    data = text.encode()
    if draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    elif draw(st.booleans()):
        data = b"# -*- coding: latin-1 -*-\n" + text.encode("latin-1")
    return data


@given(python_files())
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_scanner_reads_generated_files_as_ast_does(data: bytes) -> None:
    try:
        expected = reference(data)
    except SyntaxError:  # a generated file that is no Python: nothing to compare with
        return
    assert scanned(data) == expected
