"""Redaction: no secret setting's value, URL password or secret-looking field in a log line."""

from __future__ import annotations

import json
from collections.abc import Iterable, MutableMapping
from typing import Any

from dolmen.config import LoadedConfig, mask_credentials

MASK = "********"
"""What a redacted value becomes (as ``dolmen config show`` shows a secret)."""

SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "cookie",
    "credential",
    "private_key",
    "session_key",
)
"""A field whose name contains one of these (any case, ``-`` read as ``_``) is redacted."""

MIN_SECRET_LENGTH = 4
"""Secret values shorter than this are not searched for in lines: they would mask words."""


class Redactor:
    """Masks secrets in the fields of a line, then in the rendered line itself.

    ``secrets`` are the values of the settings declared secret (``SecretStr``,
    ``Secret()``); ``keys`` adds field names to :data:`SECRET_KEY_PARTS`.
    """

    def __init__(self, secrets: Iterable[str] = (), keys: Iterable[str] = ()) -> None:
        self.key_parts = tuple({*SECRET_KEY_PARTS, *(_normal(k) for k in keys)})
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) >= MIN_SECRET_LENGTH:
                forms.add(secret)
                forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])  # as JSON writes it
        # The longest first: a secret that contains another is masked whole.
        self.secrets = tuple(sorted(forms, key=len, reverse=True))
        self._secret_keys: dict[str, bool] = {}

    @classmethod
    def of(cls, config: LoadedConfig | None, keys: Iterable[str] = ()) -> Redactor:
        """A redactor of the secret settings of ``config``."""
        secrets: list[str] = []
        for setting in config.settings if config is not None else ():
            if setting.secret:
                secrets += _strings(setting.value)
        return cls(secrets, keys)

    def is_secret_key(self, key: str) -> bool:
        """Whether a field named ``key`` holds a secret (the answer is kept per name)."""
        known = self._secret_keys.get(key)
        if known is None:
            normal = _normal(key)
            known = self._secret_keys[key] = any(part in normal for part in self.key_parts)
        return known

    def fields(self, fields: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """``fields`` with the values of secret-looking keys masked, nested mappings too."""
        for key, value in fields.items():
            if self.is_secret_key(key):
                fields[key] = MASK
            elif isinstance(value, MutableMapping):
                fields[key] = self.fields(dict(value))
        return fields

    def text(self, text: str) -> str:
        """``text`` with each secret value and each URL's password masked."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return mask_credentials(text)


def _normal(key: str) -> str:
    return key.lower().replace("-", "_")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []
