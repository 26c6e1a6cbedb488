"""Loading configuration: precedence, provenance, and every kind of problem."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from dolmen.config import AppSettings, ConfigurationError, LoadedConfig, load_config

from .settings_fixture import SCHEMA, Billing, Mailer, Vault


def load(
    config_dir: Path,
    environ: dict[str, str] | None = None,
    environment: str | None = None,
    code: Mapping[str, object] | None = None,
    schema: Mapping[str, type[BaseModel]] | None = None,
) -> LoadedConfig:
    return load_config(
        schema or SCHEMA,
        config_dir=config_dir,
        environ=environ or {},
        environment=environment,
        code=code,
    )


def row(config: LoadedConfig, key: str) -> tuple[object, str]:
    setting = next(s for s in config.settings if s.key == key)
    return setting.shown, setting.source.describe()


def problems(error: pytest.ExceptionInfo[ConfigurationError]) -> list[str]:
    return [str(p) for p in error.value.problems]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "dolmen.toml").write_text(
        '# comment\n[billing]\ncharge_limit = "100"\nretries = 5\n\n[billing.gateway]\n'
        "timeout_s = 4\n"
    )
    (tmp_path / "dolmen.prod.toml").write_text('[billing]\ncharge_limit = "200"\n')
    return tmp_path


def test_defaults_apply_when_nothing_sets_a_key(tmp_path: Path) -> None:
    config = load(tmp_path)
    billing = config.section("billing")
    assert isinstance(billing, Billing)
    assert billing.charge_limit == Decimal("1000.00")
    assert row(config, "billing.retries") == (3, "default")


def test_an_empty_section_in_code_sets_nothing(tmp_path: Path) -> None:
    config = load(tmp_path, code={"billing": {}})
    assert row(config, "billing.retries") == (3, "default")


def test_each_source_overrides_the_ones_below_it(config_dir: Path) -> None:
    secrets = config_dir / "secrets"
    secrets.mkdir()
    (secrets / "billing__charge_limit").write_text("500\n")
    layers = [
        ({}, None, None, ("100", "dolmen.toml:3")),
        ({}, "prod", None, ("200", "dolmen.prod.toml:2")),
        (
            {"DOLMEN_ENV": "prod", "DOLMEN__BILLING__CHARGE_LIMIT": "300"},
            None,
            None,
            ("300", "environment variable DOLMEN__BILLING__CHARGE_LIMIT"),
        ),
        (
            {"DOLMEN__BILLING__CHARGE_LIMIT": "300", "DOLMEN__APP__SECRETS_DIR": "secrets"},
            "prod",
            None,
            ("500", f"secret file {secrets / 'billing__charge_limit'}"),
        ),
        (
            {"DOLMEN__APP__SECRETS_DIR": "secrets"},
            "prod",
            {"billing": {"charge_limit": "600"}},
            ("600", "set in code"),
        ),
    ]
    for environ, environment, code, expected in layers:
        config = load(config_dir, environ, environment, code)
        assert row(config, "billing.charge_limit") == expected


def test_the_environment_comes_from_dolmen_env_and_defaults_to_dev(config_dir: Path) -> None:
    assert load(config_dir).environment == "dev"
    assert load(config_dir, {"DOLMEN_ENV": "prod"}).environment == "prod"
    assert load(config_dir, {"DOLMEN_ENV": "prod"}, environment="dev").environment == "dev"


def test_keys_not_set_in_the_environment_file_keep_the_base_files_values(
    config_dir: Path,
) -> None:
    config = load(config_dir, environment="prod")
    assert row(config, "billing.retries") == (5, "dolmen.toml:4")
    assert row(config, "billing.gateway.timeout_s") == (4.0, "dolmen.toml:7")


def test_nested_settings_come_from_environment_variables_too(config_dir: Path) -> None:
    config = load(config_dir, {"DOLMEN__BILLING__GATEWAY__TIMEOUT_S": "9.5"})
    assert row(config, "billing.gateway.timeout_s") == (
        9.5,
        "environment variable DOLMEN__BILLING__GATEWAY__TIMEOUT_S",
    )


def test_the_database_url_keeps_its_short_variable_name(tmp_path: Path) -> None:
    config = load(tmp_path, {"DOLMEN_DATABASE_URL": "sqlite:///x.db"})
    assert row(config, "app.database_url") == (
        "sqlite:///x.db",
        "environment variable DOLMEN_DATABASE_URL",
    )


def test_every_problem_is_reported_at_once_with_key_source_and_expectation(
    config_dir: Path,
) -> None:
    (config_dir / "dolmen.toml").write_text('[billing]\ncharge_limt = "100"\nretries = "many"\n')
    environ = {
        "DOLMEN__BILLING__CHARGE_LIMIT": "-1",
        "DOLMEN__BILING__RETRIES": "2",
        "DOLMEN__NOSECTIONKEY": "x",
    }
    schema: dict[str, type[BaseModel]] = {**SCHEMA, "mailer": Mailer}
    with pytest.raises(ConfigurationError) as error:
        load(config_dir, environ, schema=schema)
    assert sorted(problems(error)) == sorted(
        [
            "DOLMEN__NOSECTIONKEY: is not a setting name; expected DOLMEN__<SECTION>__<KEY>, "
            "e.g. DOLMEN__APP__DEBUG",
            "billing.charge_limt: unknown key (dolmen.toml:2); did you mean "
            "'billing.charge_limit'?",
            "biling: unknown section (environment variable DOLMEN__BILING__RETRIES); did you "
            "mean DOLMEN__BILLING__RETRIES?",
            "billing.retries: Input should be a valid integer, unable to parse string as an "
            "integer, got 'many' (dolmen.toml:3)",
            "billing.charge_limit: Input should be greater than 0, got '-1' (environment "
            "variable DOLMEN__BILLING__CHARGE_LIMIT)",
            "mailer.sender: is required but not set; set sender under [mailer] in dolmen.toml, "
            "or the environment variable DOLMEN__MAILER__SENDER, or the secret file "
            "mailer__sender",
        ]
    )
    assert str(error.value).startswith("configuration for environment 'dev' has 6 problems:")


def test_invalid_toml_is_reported_with_its_line(config_dir: Path) -> None:
    (config_dir / "dolmen.prod.toml").write_text('[billing]\ncharge_limit = "200\n')
    with pytest.raises(ConfigurationError) as error:
        load(config_dir, environment="prod")
    [problem] = problems(error)
    assert problem.startswith("dolmen.prod.toml: is not valid TOML:")
    assert "line 2" in problem


def test_an_unknown_key_far_from_any_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, {"DOLMEN__BILLING__ZZZ": "1"})
    assert problems(error) == [
        "billing.zzz: unknown key (environment variable DOLMEN__BILLING__ZZZ); known keys: "
        "api_key, charge_limit, gateway, retries"
    ]


def test_a_bad_environment_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not an environment name"):
        load(tmp_path, environment="../etc")


def test_secrets_are_masked_when_shown(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        {"DOLMEN__BILLING__API_KEY": "hunter2", "DOLMEN__BILLING__GATEWAY__TOKEN": "tok-123"},
    )
    assert row(config, "billing.api_key")[0] == "********"
    assert row(config, "billing.gateway.token")[0] == "********"
    billing = config.section("billing")
    assert isinstance(billing, Billing)
    assert billing.api_key == "hunter2"
    assert billing.gateway.token is not None
    assert billing.gateway.token.get_secret_value() == "tok-123"


def test_a_secret_never_appears_in_an_error_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        load(
            tmp_path,
            {"DOLMEN__VAULT__PIN": "s3cr3t-pin"},
            schema={"app": AppSettings, "vault": Vault},
        )
    assert problems(error) == [
        "vault.pin: Input should be a valid integer, unable to parse string as an integer "
        "(environment variable DOLMEN__VAULT__PIN)"
    ]


def test_a_settings_class_does_not_read_the_environment_on_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETRIES", "99")
    config = load(tmp_path)
    billing = config.section("billing")
    assert isinstance(billing, Billing)
    assert billing.retries == 3


def test_secret_files_of_other_programs_are_left_alone_and_the_folder_can_be_set_in_code(
    tmp_path: Path,
) -> None:
    secrets = tmp_path / "shared-secrets"
    secrets.mkdir()
    (secrets / "postgres__password").write_text("not ours")
    (secrets / "billing__api_key").write_text("from-a-secret-file\n")
    config = load(tmp_path, code={"app": {"secrets_dir": str(secrets)}})
    billing = config.section("billing")
    assert isinstance(billing, Billing)
    assert billing.api_key == "from-a-secret-file"
    assert row(config, "billing.api_key") == (
        "********",
        f"secret file {secrets / 'billing__api_key'}",
    )
