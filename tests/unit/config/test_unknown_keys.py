"""Unknown keys are reported wherever they are, also inside dictionary- and list-valued settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from pydantic_settings import BaseSettings

from dolmen.config import ConfigurationError, LoadedConfig, load_config


class Peer(BaseModel):
    """One entry of a dictionary-valued setting."""

    model_config = ConfigDict(extra="forbid")

    url: str = ""
    timeout_s: float = 1.0


class Routing(BaseSettings):
    """A section with a dictionary of models, a list of models and a plain dictionary."""

    peers: dict[str, Peer] = {}
    optional_peers: dict[str, Peer] | None = None
    fallbacks: list[Peer] = []
    labels: dict[str, str] = {}
    limit: int = 1


def load(
    config_dir: Path, code: Mapping[str, Any] | None = None, environ: dict[str, str] | None = None
) -> LoadedConfig:
    schema = {"routing": Routing}
    return load_config(schema, config_dir=config_dir, environ=environ or {}, code=code)


def problems_of(
    config_dir: Path, code: Mapping[str, Any] | None = None, environ: dict[str, str] | None = None
) -> list[str]:
    with pytest.raises(ConfigurationError) as error:
        load(config_dir, code, environ)
    return [str(problem) for problem in error.value.problems]


def test_an_unknown_key_inside_a_dictionary_entry_is_reported_with_a_suggestion(
    tmp_path: Path,
) -> None:
    (tmp_path / "dolmen.toml").write_text('[routing.peers.eu]\nurl = "https://eu"\nulr = "x"\n')
    assert problems_of(tmp_path) == [
        "routing.peers.eu.ulr: unknown key (dolmen.toml:3); did you mean 'routing.peers.eu.url'?"
    ]


def test_it_is_reported_beside_the_other_problems_not_instead_of_them(tmp_path: Path) -> None:
    code = {"routing": {"optional_peers": {"us": {"timeout": 2}}, "limt": 2}}
    assert problems_of(tmp_path, code) == [
        "routing.optional_peers.us.timeout: unknown key (set in code); did you mean "
        "'routing.optional_peers.us.timeout_s'?",
        "routing.limt: unknown key (set in code); did you mean 'routing.limit'?",
    ]


def test_an_unknown_key_from_the_environment_names_the_variable_to_use(tmp_path: Path) -> None:
    environ = {"DOLMEN__ROUTING__PEERS__EU__TIMEOUT": "3", "DOLMEN__ROUTING__LIMIT": "x"}
    found = problems_of(tmp_path, environ=environ)
    assert any(
        p.startswith("routing.peers.eu.timeout: unknown key")
        and "did you mean DOLMEN__ROUTING__PEERS__EU__TIMEOUT_S?" in p
        for p in found
    ), found
    assert any(p.startswith("routing.limit: Input should be a valid integer") for p in found)


def test_an_unknown_key_inside_a_list_entry_is_reported_too(tmp_path: Path) -> None:
    code = {"routing": {"fallbacks": [{"url": "a", "ulr": "b"}], "limt": 2}}
    assert problems_of(tmp_path, code) == [
        "routing.limt: unknown key (set in code); did you mean 'routing.limit'?",
        "routing.fallbacks.0.ulr: unknown key (set in code)",
    ]


def test_the_keys_of_a_plain_dictionary_are_its_own(tmp_path: Path) -> None:
    code = {"routing": {"labels": {"anything": "goes"}, "peers": {"eu": {"url": "u"}}}}
    routing = load(tmp_path, code).section("routing")
    assert isinstance(routing, Routing)
    assert routing.labels == {"anything": "goes"}
    assert routing.peers == {"eu": Peer(url="u")}
