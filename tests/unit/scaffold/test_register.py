"""Listing a new module in the app's composition root, or saying what to add by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from dolmen.scaffold import RegistrationError
from dolmen.scaffold._register import bound_names, register, registration

APP_FILE = Path("acme/app.py")
BILLING = registration("billing", "acme.billing")

MULTI_LINE = """\
from dolmen import App

from acme.notes.module import module as notes
from acme.orders.module import module as orders

app = App(
    "acme",
    modules=[
        notes,
        orders,
    ],
)
"""


def test_a_module_joins_a_list_written_on_one_line_and_its_import_is_sorted() -> None:
    source = (
        "from dolmen import App\n\n"
        "from acme.catalog.module import module as catalog\n"
        "from acme.notes.module import module as notes\n\n"
        'app = App("acme", modules=[notes, catalog])\n'
    )
    assert register(source, APP_FILE, BILLING) == (
        "from dolmen import App\n\n"
        "from acme.billing.module import module as billing\n"
        "from acme.catalog.module import module as catalog\n"
        "from acme.notes.module import module as notes\n\n"
        'app = App("acme", modules=[notes, catalog, billing])\n'
    )


def test_a_module_gets_a_line_of_its_own_in_a_list_of_one_per_line() -> None:
    edited = register(MULTI_LINE, APP_FILE, BILLING)
    assert "    modules=[\n        notes,\n        orders,\n        billing,\n    ],\n" in edited
    assert edited.index("as billing") < edited.index("as notes")


def test_a_module_comes_last_among_imports_that_sort_before_it() -> None:
    edited = register(MULTI_LINE, APP_FILE, registration("zebra", "acme.zebra"))
    lines = edited.splitlines()
    assert lines[lines.index("from acme.orders.module import module as orders") + 1] == (
        "from acme.zebra.module import module as zebra"
    )


def test_a_module_joins_an_empty_list_and_a_list_given_by_position() -> None:
    empty = 'from dolmen import App\n\napp = App("acme", modules=[])\n'
    assert "modules=[billing])" in register(empty, APP_FILE, BILLING)
    positional = 'from dolmen import App\n\napp = App("acme", [notes])\n'
    assert 'App("acme", [notes, billing])' in register(positional, APP_FILE, BILLING)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import dolmen\n\nMODULES = []\n", "no App(...) call"),
        ('from dolmen import App\n\napp = App("a", modules=MODULES)\n', "no modules=[...] list"),
        (
            'from dolmen import App\n\na = App("a", modules=[])\nb = App("b", modules=[])\n',
            "several App(...) calls",
        ),
        ("def broken(:\n", "a syntax error (line 1)"),
    ],
)
def test_an_app_file_without_a_plain_list_says_what_to_add_by_hand(
    source: str, reason: str
) -> None:
    with pytest.raises(RegistrationError) as refused:
        register(source, APP_FILE, BILLING)
    message = str(refused.value)
    assert reason in message
    assert "from acme.billing.module import module as billing" in message
    assert "modules=[..., billing]" in message


def test_the_names_the_app_file_binds_are_known() -> None:
    source = MULTI_LINE + "\n\ndef create_app() -> None: ...\n\nsettings: dict[str, str] = {}\n"
    assert {"App", "notes", "orders", "app", "create_app", "settings"} <= bound_names(source)
