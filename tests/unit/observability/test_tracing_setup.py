"""Traces need the OpenTelemetry API: without it they are off, and the log says what to do."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import pytest

from dolmen.observability import ObservabilitySettings, _tracing


def test_without_the_opentelemetry_api_traces_are_off_and_the_log_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name.startswith("opentelemetry") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with caplog.at_level(logging.INFO, "dolmen.observability"):
        assert _tracing.start_tracing(ObservabilitySettings(), "shop") is None
    assert "install dolmen[traces]" in caplog.text


def test_traces_off_start_nothing() -> None:
    assert _tracing.start_tracing(ObservabilitySettings(traces=False), "shop") is None


def test_a_traceparent_that_is_not_one_gives_no_parent() -> None:
    for value in (None, "", "junk", "00-" + "0" * 32 + "-" + "1" * 16 + "-01", "00-xyz-abc-01"):
        assert _tracing.Tracing.remote(value) is None
    assert _tracing.Tracing.remote("00-" + "a" * 32 + "-" + "b" * 16 + "-01") is not None
