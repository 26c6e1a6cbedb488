"""dolmen check finds exactly the planted violations, in every import form."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dolmen.check._runner import run_check
from dolmen.check.exceptions import CheckConfigError
from dolmen.cli import cli

EXPECTED = [
    ("outside-import", "src/acme/app.py", 1),
    ("dependency-cycle", "src/acme/billing/gateway.py", 1),  # billing -> orders -> billing
    ("dependency-cycle", "src/acme/billing/gateway.py", 1),  # ... -> orders -> catalog -> billing
    ("parse-error", "src/acme/catalog/broken.py", 4),
    ("private-import", "src/acme/catalog/service.py", 10),  # importlib.import_module("...")
    ("undeclared-dependency", "src/acme/catalog/service.py", 10),
    ("layer-violation", "src/acme/orders/adapters/repo.py", 2),  # backslash continuation
    ("forbidden-import", "src/acme/orders/domain/order.py", 3),
    ("layer-violation", "src/acme/orders/domain/order.py", 5),  # relative ..web
    ("private-import", "src/acme/orders/service.py", 1),  # from package import submodule
    ("private-import", "src/acme/orders/service.py", 2),  # multi-line parenthesised
    ("private-import", "src/acme/orders/service.py", 5),  # relative ..catalog.service
    ("private-import", "src/acme/orders/service.py", 9),  # suppression without a reason
    ("private-import", "src/acme/orders/web.py", 5),  # inside a function
    ("unused-dependency", "pyproject.toml", 25),
    ("module-layer-violation", "src/acme/shipping/service.py", 1),
    ("undeclared-dependency", "src/acme/shipping/service.py", 2),
]


def found(root: Path) -> list[tuple[str, str, int]]:
    return sorted((v.rule, v.path, v.line) for v in run_check(root).violations)


def test_every_planted_violation_is_found_and_nothing_else(acme: Path) -> None:
    assert found(acme) == sorted(EXPECTED)


def test_cycles_are_reported_with_their_whole_path(acme: Path) -> None:
    report = run_check(acme)
    cycles = sorted(v.target for v in report.violations if v.rule == "dependency-cycle")
    assert cycles == ["billing -> orders -> billing", "billing -> orders -> catalog -> billing"]


def test_a_suppression_with_a_reason_hides_the_violation(acme: Path) -> None:
    report = run_check(acme)
    assert [(v.path, v.line) for v in report.suppressed] == [("src/acme/orders/service.py", 8)]
    [unexplained] = [v for v in report.violations if v.line == 9]
    assert "the suppression on this line has no reason" in unexplained.message


def test_type_checking_imports_count_when_the_setting_says_so(acme: Path) -> None:
    pyproject = acme / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "type-checking-imports = false", "type-checking-imports = true"
        )
    )
    assert ("forbidden-import", "src/acme/orders/domain/order.py", 8) in found(acme)


def test_messages_say_what_is_wrong_and_how_to_fix_it(acme: Path) -> None:
    messages = {(v.rule, v.path, v.line): v.message for v in run_check(acme).violations}
    assert messages[("private-import", "src/acme/orders/service.py", 5)] == (
        "module 'orders' imports 'acme.catalog.service' (Catalog), a private part of module "
        "'catalog'; import from its public API (acme.catalog.api) instead"
    )
    assert messages[("undeclared-dependency", "src/acme/shipping/service.py", 2)] == (
        "module 'shipping' uses module 'billing' ('acme.billing.api') without declaring it; add "
        "'billing' to depends_on of 'shipping' (or to listens_to if it only handles that "
        "module's events)"
    )
    assert messages[("layer-violation", "src/acme/orders/domain/order.py", 5)] == (
        "in module 'orders', layer 'domain' imports layer 'web' ('acme.orders.web': handler); "
        "domain may use no other layer. Move what domain needs from web into domain, or invert "
        "the dependency behind a port that domain declares and web implements"
    )
    assert messages[("layer-violation", "src/acme/orders/adapters/repo.py", 2)] == (
        "in module 'orders', layer 'adapters' imports layer 'service' ('acme.orders.service': "
        "OrderService); adapters may use domain. Move what adapters needs from service into "
        "adapters (or a layer it may use), or invert the dependency behind a port that adapters "
        "declares and service implements"
    )
    assert messages[("module-layer-violation", "src/acme/shipping/service.py", 1)] == (
        "module 'shipping' (layer 2) imports module 'orders' ('acme.orders.api': OrderPlaced) of "
        "a higher layer (1); lower layers may not use higher ones. Move what 'shipping' needs "
        "from 'orders' down into a module of layer 2 or below, or invert the dependency behind a "
        "port that 'shipping' declares"
    )


def test_one_statement_breaks_a_rule_once_naming_every_offending_name(acme: Path) -> None:
    (acme / "src" / "acme" / "orders" / "many.py").write_text(
        "from acme.catalog._internal import (\n    a, b, c, d,\n)\n"
        "import acme.billing.gateway, acme.catalog._internal as i\n"
        "from acme.shipping import service, other\n"
    )
    found = [
        v
        for v in run_check(acme).violations
        if v.path == "src/acme/orders/many.py" and v.rule != "dependency-cycle"
    ]
    assert sorted((v.rule, v.line) for v in found) == [
        ("private-import", 1),
        ("private-import", 4),
        ("private-import", 5),
        ("undeclared-dependency", 5),
    ]
    messages = {(v.rule, v.line): v.message for v in found}
    assert messages[("private-import", 1)] == (
        "module 'orders' imports 'acme.catalog._internal' (a, b, c, d), a private part of module "
        "'catalog'; import from its public API (acme.catalog.api) instead"
    )
    assert messages[("private-import", 4)] == (
        "module 'orders' imports 'acme.billing.gateway', a private part of module 'billing' and "
        "'acme.catalog._internal', a private part of module 'catalog'; import from their public "
        "APIs (acme.billing.api; acme.catalog.api) instead"
    )
    assert messages[("private-import", 5)] == (
        "module 'orders' imports 'acme.shipping.service' and 'acme.shipping' (other), private "
        "parts of module 'shipping'; import from its public API (acme.shipping.api) instead"
    )
    assert messages[("undeclared-dependency", 5)] == (
        "module 'orders' uses module 'shipping' ('acme.shipping.service'; 'acme.shipping': "
        "other) without declaring it; add 'shipping' to depends_on of 'orders' (or to "
        "listens_to if it only handles that module's events)"
    )


def test_a_cycle_names_every_edge_with_its_file_and_line(acme: Path) -> None:
    cycles = {
        v.target: v.message for v in run_check(acme).violations if v.rule == "dependency-cycle"
    }
    assert cycles["billing -> orders -> catalog -> billing"] == (
        "modules depend on each other in a cycle: billing -> orders -> catalog -> billing "
        "(billing -> orders at src/acme/billing/gateway.py:1; orders -> catalog at "
        "src/acme/orders/service.py:1; catalog -> billing at src/acme/catalog/service.py:10); "
        "break it by inverting one of these dependencies behind a port, or by reacting to an "
        "event (listens_to) instead"
    )
    # An edge that exists only as a declaration is located at its depends_on.
    (acme / "src" / "acme" / "orders" / "web.py").write_text("")
    [cycle] = [
        v.message for v in run_check(acme).violations if v.target == "billing -> orders -> billing"
    ]
    assert "orders -> billing at pyproject.toml:11 (depends_on of 'orders')" in cycle


def test_a_shop_with_planted_violations_fails_with_their_rule_ids(shop_copy: Path) -> None:
    shop = shop_copy / "examples" / "shop"
    service = shop / "orders" / "service.py"
    service.write_text("from shop.billing.service import BillingService\n" + service.read_text())
    product = shop / "catalog" / "domain" / "product.py"
    product.write_text("import sqlalchemy\n" + product.read_text())
    catalog_service = shop / "catalog" / "service.py"
    catalog_service.write_text(
        "from shop.orders.api import OrderPlaced\n" + catalog_service.read_text()
    )
    catalog_module = shop / "catalog" / "module.py"  # catalog uses orders, undeclared now:
    declared = catalog_module.read_text()  # a cycle with orders -> catalog
    catalog_module.write_text(declared.replace('listens_to=["orders"],', ""))
    assert CliRunner().invoke(cli, ["check", str(shop_copy)]).exit_code == 1
    rules = sorted({v.rule for v in run_check(shop_copy).violations})
    assert rules == [
        "dependency-cycle",
        "forbidden-import",
        "private-import",
        "undeclared-dependency",
    ]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('module-layers = [["orders"], ["nowhere"]]', "module-layers names 'nowhere'"),
        ('forbidden = { infra = ["requests"] }', "forbidden names layer 'infra'"),
        ("colour = 'blue'", "unknown key 'colour' in [tool.dolmen.check]"),
        ("layers = ['web']", "layer chain 'web' must read 'upper -> lower'"),
    ],
)
def test_a_configuration_naming_what_does_not_exist_is_an_error(
    acme: Path, setting: str, message: str
) -> None:
    pyproject = acme / "pyproject.toml"
    text = pyproject.read_text()
    key = setting.split(" ", 1)[0]
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} ")]
    lines.insert(lines.index("[tool.dolmen.check]") + 1, setting)
    pyproject.write_text("\n".join(lines) + "\n")
    with pytest.raises(CheckConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        run_check(acme)


def test_a_dependency_on_an_undeclared_module_is_a_configuration_error(acme: Path) -> None:
    pyproject = acme / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('depends_on = ["orders"]', 'depends_on = ["ordres"]')
    )
    with pytest.raises(CheckConfigError, match="names 'ordres', which is not a module"):
        run_check(acme)


def test_the_cache_spares_unchanged_files_and_notices_edited_ones(acme: Path) -> None:
    cold = run_check(acme)
    warm = run_check(acme)
    assert cold.cache_hits == 0
    assert warm.cache_hits == warm.files
    assert found(acme) == sorted(EXPECTED)
    web = acme / "src" / "acme" / "orders" / "web.py"
    web.write_text(
        web.read_text().replace("import acme.billing.gateway", "import acme.billing.api")
    )
    edited = run_check(acme)
    assert edited.cache_hits == edited.files - 1
    assert ("private-import", "src/acme/orders/web.py", 5) not in {
        (v.rule, v.path, v.line) for v in edited.violations
    }


def test_without_a_cache_the_result_is_the_same(acme: Path) -> None:
    run_check(acme)
    shutil.rmtree(acme / ".dolmen_cache")
    assert sorted(
        (v.rule, v.path, v.line) for v in run_check(acme, use_cache=False).violations
    ) == (sorted(EXPECTED))


def with_settings(acme: Path, *lines: str) -> None:
    pyproject = acme / "pyproject.toml"
    head = "[tool.dolmen.check]\n"
    pyproject.write_text(pyproject.read_text().replace(head, head + "".join(lines), 1))


def test_select_and_ignore_choose_the_rules(acme: Path) -> None:
    base = (acme / "pyproject.toml").read_text()
    with_settings(acme, 'select = ["private-import", "layer-violation"]\n')
    with_settings(acme, 'ignore = ["layer-violation"]\n')
    assert {rule for rule, _, _ in found(acme)} == {"private-import"}
    (acme / "pyproject.toml").write_text(base)
    with_settings(acme, 'select = ["privat-import"]\n')
    with pytest.raises(CheckConfigError, match="select names rule 'privat-import'"):
        run_check(acme)


def test_a_module_can_make_everything_public(acme: Path) -> None:
    pyproject = acme / "pyproject.toml"
    entry = 'package = "acme.catalog"\n'
    pyproject.write_text(pyproject.read_text().replace(entry, entry + 'public = ["*"]\n'))
    privates = [path for rule, path, _ in found(acme) if rule == "private-import"]
    assert all("orders/service.py" not in path for path in privates)


def test_the_graph_marks_every_edge_of_a_statement_naming_several_modules(acme: Path) -> None:
    from dolmen.check._graph_output import dot

    (acme / "src" / "acme" / "shipping" / "web.py").write_text(
        "import acme.orders.domain, acme.catalog._internal\n"
    )
    graph = dot(run_check(acme))
    assert '"shipping" -> "catalog" [color=red, penwidth=2, label="violation"];' in graph
    assert '"shipping" -> "orders" [color=red, penwidth=2, label="violation"];' in graph
