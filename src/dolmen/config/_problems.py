"""One configuration problem, phrased for the person who has to fix it."""

from __future__ import annotations

from dataclasses import dataclass

from dolmen.config._masking import mask_credentials
from dolmen.config._sources import Source


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with one key, where the value came from, and what to do.

    A URL's password quoted in the message or the hint (an invalid value echoed back)
    is masked as ``***``.
    """

    key: str
    message: str
    source: Source | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", mask_credentials(self.message))
        if self.hint is not None:
            object.__setattr__(self, "hint", mask_credentials(self.hint))

    def __str__(self) -> str:
        where = f" ({self.source.describe()})" if self.source else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{self.key}: {self.message}{where}{hint}"
