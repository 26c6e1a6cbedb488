"""``dolmen run --unit`` and ``dolmen units`` on the shop's topology, and on topologies that
do not fit it.

The shop's units running as processes, in every topology, are tested in
test_shop_http_split.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.dolmen_runner import EXAMPLES, dolmen, env_for


def test_a_unit_the_shop_does_not_declare_is_refused_before_serving(tmp_path: Path) -> None:
    result = dolmen(
        "run", "shop.app:app", "--app-dir", str(EXAMPLES), "--unit", "shipping",
        cwd=tmp_path, env=env_for(tmp_path),
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert "--unit shipping: app 'shop' declares no unit 'shipping'" in result.stderr
    assert "(its units: billing, notifications, storefront)" in result.stderr
    assert not (tmp_path / "var").exists()  # nothing started, no database made


def test_units_prints_the_shop_s_three_units(tmp_path: Path) -> None:
    result = dolmen(
        "units", "shop.app:app", "--app-dir", str(EXAMPLES), cwd=tmp_path, env=env_for(tmp_path)
    )

    assert result.returncode == 0, result.stderr
    assert "unit storefront (no url, 1 replica)\n  modules   catalog, orders\n" in result.stdout
    assert "  orders.OrderPlaced: storefront -> billing (billing.charge_order)" in result.stdout


def test_a_topology_that_does_not_fit_the_modules_is_reported_with_each_problem(
    tmp_path: Path,
) -> None:
    (tmp_path / "dolmen.toml").write_text(
        '[units.unit.front]\nmodules = ["catalog", "order"]\n'
        '[units.unit.back]\nmodules = ["billing", "notifications"]\n'
    )
    (tmp_path / "split_shop.py").write_text(
        "from dolmen import App\n"
        "from shop.app import app as shop\n"
        "app = App('shop', shop.modules)  # its configuration: ./dolmen.toml\n"
    )
    env = env_for(tmp_path)

    for command in (["units", "split_shop:app"], ["run", "split_shop:app", "--unit", "front"]):
        result = dolmen(*command, "--app-dir", str(tmp_path), cwd=tmp_path, env=env)
        assert result.returncode == 2, result.stderr
        assert "[units] has 2 problems:" in result.stderr
        assert "unit 'front' lists module 'order', which the app does not have" in result.stderr
        assert "module 'orders' is in no unit" in result.stderr
    checked = dolmen("config", "check", "--app", "split_shop:app", "--app-dir", str(tmp_path),
                     cwd=tmp_path, env=env)  # fmt: skip
    assert checked.returncode == 1, checked.stderr
    assert "unit 'front' lists module 'order', which the app does not have" in checked.stderr
