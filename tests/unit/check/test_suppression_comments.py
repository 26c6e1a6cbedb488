"""Only comments suppress: the same words inside a string or a docstring are text."""

from __future__ import annotations

from dolmen.check._syntax import suppressions_in


def test_a_suppression_inside_a_docstring_or_a_string_is_not_one() -> None:
    source = (
        b'"""Write ``# dolmen: ignore[rule-id] reason`` on the line."""\n'
        b"import x  # dolmen: ignore[private-import] the gateway is ours\n"
        b's = "# dolmen: ignore[private-import] not a comment"\n'
        b"y = 1  # noqa # dolmen: ignore[a, b] why\n"
    )
    found = suppressions_in(source)
    assert [(line, rules, reason) for line, _, rules, reason in found] == [
        (2, ("private-import",), "the gateway is ours"),
        (4, ("a", "b"), "why"),
    ]


def test_a_comment_after_non_ascii_text_is_found_at_its_byte_column() -> None:
    found = suppressions_in('s = "é"  # dolmen: ignore[p] r\n'.encode())
    assert found == ((1, 11, ("p",), "r"),)


def test_a_file_that_cannot_be_tokenized_keeps_its_suppressions() -> None:
    found = suppressions_in(b'x = (  # dolmen: ignore[p] r\n"""\n')
    assert [rules for _, _, rules, _ in found] == [("p",)]
