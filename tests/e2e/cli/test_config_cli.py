"""dolmen config show / check / diff / schema, and dolmen run with a broken configuration."""

from __future__ import annotations

import json
from pathlib import Path

from tests.dolmen_runner import REPO, dolmen, env_for


def test_show_lists_every_setting_with_its_value_and_source(shop_copy: Path) -> None:
    result = dolmen(
        "config", "show", cwd=shop_copy,
        env=env_for(shop_copy, DOLMEN__BILLING__GATEWAY_LATENCY_MS="5"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "environment: dev"
    rows = {line.split()[0]: line.split(maxsplit=2)[1:] for line in lines[4:]}
    assert rows["billing.charge_limit"] == ["50.00", "dolmen.toml:2"]
    assert rows["billing.gateway_latency_ms"] == [
        "5.0",
        "environment variable DOLMEN__BILLING__GATEWAY_LATENCY_MS",
    ]
    assert rows["notifications.sender_name"] == ["Test", "Shop  dolmen.toml:5"]
    assert rows["app.database_url"] == ["(unset)", "default"]


def test_show_masks_secrets_in_text_and_json(shop_copy: Path) -> None:
    env = env_for(shop_copy, DOLMEN__BILLING__GATEWAY_API_KEY="sk-live-123456")
    text = dolmen("config", "show", cwd=shop_copy, env=env)
    as_json = dolmen("config", "show", "--json", "--env", "prod", cwd=shop_copy, env=env)
    assert "sk-live-123456" not in text.stdout + text.stderr
    assert "sk-live-123456" not in as_json.stdout + as_json.stderr
    settings = {s["key"]: s for s in json.loads(as_json.stdout)["settings"]}
    assert settings["billing.gateway_api_key"] == {
        "key": "billing.gateway_api_key",
        "value": "********",
        "source": "environment variable DOLMEN__BILLING__GATEWAY_API_KEY",
        "secret": True,
        "masked": True,
    }
    assert settings["billing.charge_limit"]["value"] == "75.00"
    assert json.loads(as_json.stdout)["environment"] == "prod"


def test_check_passes_a_valid_environment(shop_copy: Path) -> None:
    result = dolmen("config", "check", "--env", "prod", cwd=shop_copy, env=env_for(shop_copy))
    assert result.returncode == 0, result.stderr
    assert "configuration for environment 'prod' is valid" in result.stdout


def test_check_fails_with_every_problem_and_exit_1(shop_copy: Path) -> None:
    (shop_copy / "config" / "dolmen.staging.toml").write_text(
        '[billing]\ncharge_limit = "-5"\n[notifcations]\nsender_name = ""\n'
    )
    env = env_for(shop_copy, DOLMEN__BILLING__GATEWAY_API_KEY="12", DOLMEN__BILLING__RETRY="3")
    result = dolmen("config", "check", "--env", "staging", cwd=shop_copy, env=env)
    assert result.returncode == 1
    report = result.stderr
    assert "configuration for environment 'staging' has 3 problems:" in report
    assert (
        "billing.charge_limit: Input should be greater than 0, got '-5' (dolmen.staging.toml:2)"
    ) in report
    assert "notifcations: unknown section (dolmen.staging.toml:4); did you mean " in report
    assert "'notifications.sender_name'?" in report
    assert "billing.retry: unknown key (environment variable DOLMEN__BILLING__RETRY)" in report
    assert "Traceback" not in report


def test_diff_lists_the_keys_that_differ_between_environments(shop_copy: Path) -> None:
    result = dolmen(
        "config", "diff", "dev", "prod", cwd=shop_copy,
        env=env_for(shop_copy, DOLMEN__BILLING__CHARGE_LIMIT="1"),  # ignored: files only
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "billing.charge_limit: dev=50.00 (dolmen.toml:2) | prod=75.00 (dolmen.prod.toml:2)",
        "billing.gateway_latency_ms: dev=0.0 (default) | prod=10.0 (dolmen.prod.toml:3)"
        "  [set in prod only]",
        "2 difference(s) between 'dev' and 'prod'",
    ]


def test_diff_of_an_environment_with_itself_is_empty(shop_copy: Path) -> None:
    result = dolmen("config", "diff", "prod", "prod", cwd=shop_copy, env=env_for(shop_copy))
    assert result.returncode == 0
    assert result.stdout.strip() == "0 difference(s) between 'prod' and 'prod'"


def test_schema_documents_every_setting_as_markdown_and_json(shop_copy: Path) -> None:
    markdown = dolmen("config", "schema", cwd=shop_copy, env=env_for(shop_copy))
    assert markdown.returncode == 0, markdown.stderr
    assert "| `charge_limit` | `Decimal` | `1000.00` | `DOLMEN__BILLING__CHARGE_LIMIT` |" in (
        markdown.stdout
    )
    assert "## `[notifications]`" in markdown.stdout
    as_json = json.loads(
        dolmen("config", "schema", "--format", "json", cwd=shop_copy, env=env_for(shop_copy)).stdout
    )
    rows = {row["key"]: row for row in as_json["settings"]}
    assert rows["billing.gateway_api_key"]["secret"] is True
    assert rows["notifications.sender_name"]["default"] == "Dolmen Shop"
    assert as_json["sections"]["billing"]["properties"]["charge_limit"]["description"] == (
        "The fake gateway declines any charge above this amount."
    )


def test_the_configuration_reference_in_docs_is_up_to_date() -> None:
    result = dolmen("config", "schema", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    committed = (REPO / "docs" / "configuration-reference.md").read_text()
    assert committed == result.stdout, (
        "docs/configuration-reference.md is stale; regenerate it with: "
        "dolmen config schema --format markdown > docs/configuration-reference.md"
    )


def test_a_config_command_without_an_app_says_how_to_name_one(tmp_path: Path) -> None:
    result = dolmen("config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert "pass --app package.module:attribute" in result.stderr


def test_run_with_a_broken_configuration_exits_2_with_the_report(shop_copy: Path) -> None:
    env = env_for(shop_copy, DOLMEN__BILLING__CHARGE_LIMIT="lots", DOLMEN__APP__DEBUG="1")
    result = dolmen("run", "myshop:app", "--port", "1", cwd=shop_copy, env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configuration for environment 'dev' has 2 problems:",
        "  - app.debug: unknown key (environment variable DOLMEN__APP__DEBUG); known keys: "
        "database_schema, database_url, db_max_overflow, db_pool_size, gc_freeze, max_body_bytes, "
        "secrets_dir",
        "  - billing.charge_limit: Input should be a valid decimal, got 'lots' (environment "
        "variable DOLMEN__BILLING__CHARGE_LIMIT)",
    ]


def test_show_names_the_app_and_database_first_and_creates_nothing(tmp_path: Path) -> None:
    result = dolmen(
        "config", "show", "--json", "--app", "shop.app:app", "--app-dir", str(REPO / "examples"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"app shop (shop.app:app), database sqlite:///{tmp_path / 'var' / 'shop.db'} "
        "(no such file yet)"
    ]
    assert json.loads(result.stdout)["environment"] == "dev"
    assert list(tmp_path.iterdir()) == []
