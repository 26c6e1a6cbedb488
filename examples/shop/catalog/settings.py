"""The catalog's settings: ``[catalog]`` in dolmen.toml, ``DOLMEN__CATALOG__<KEY>``."""

from pydantic import Field
from pydantic_settings import BaseSettings


class CatalogSettings(BaseSettings):
    """How long stock stays reserved for an order that is not placed."""

    reservation_seconds: float = Field(
        default=900.0,
        gt=0,
        description="How long reserved stock waits for its order before it goes back: "
        "longer than event delivery may lag (the order's OrderPlaced confirms it).",
    )
    sweep_seconds: float = Field(
        default=30.0, gt=0, description="How often expired reservations are given back."
    )
