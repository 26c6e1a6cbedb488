"""Fixtures of the command-line tests: a project folder serving the shop."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dolmen_runner import REPO


@pytest.fixture
def shop_copy(tmp_path: Path) -> Path:
    """A project folder whose app is the shop with its own config folder."""
    (tmp_path / "myshop.py").write_text(
        "from pathlib import Path\n"
        "from shop.app import create_app\n"
        "app = create_app()\n"
        "app.config_dir = Path(__file__).parent / 'config'\n"
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "dolmen.toml").write_text(
        '[billing]\ncharge_limit = "50.00"\n\n[notifications]\nsender_name = "Test Shop"\n'
    )
    (tmp_path / "config" / "dolmen.prod.toml").write_text(
        '[billing]\ncharge_limit = "75.00"\ngateway_latency_ms = 10\n'
    )
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.dolmen]\napp = "myshop:app"\napp-dir = "."\n'
        f"# the shop package itself\n# {REPO / 'examples'}\n"
    )
    return tmp_path
