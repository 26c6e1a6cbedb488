"""The broker lag gauges of a ``/metrics`` text, as the lag tests read them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Series = tuple[str, ...]
"""A gauge's name, then its labels: unit, destination and, where it has one, partition."""


def lag_gauges(text: str) -> dict[Series, float]:
    """The ``dolmen_units_*`` samples of the exposition ``text``, by name and labels.

    Fails if a series appears twice: ``/metrics`` must show one value per series (with
    ``dolmen run --workers N`` too, where every worker writes the same gauges).
    """
    found: dict[Series, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("dolmen_units_"):
                labels = sample.labels
                partition = (labels["partition"],) if "partition" in labels else ()
                key = (sample.name, labels["unit"], labels["destination"], *partition)
                assert key not in found, f"{key} twice in /metrics"
                found[key] = sample.value
    return found
