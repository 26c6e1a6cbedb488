"""The official SARIF 2.1.0 JSON Schema, fetched once from the npm registry and cached.

No Python package ships the schema file; Microsoft's ``@microsoft/jest-sarif`` (MIT) carries
the OASIS SARIF 2.1.0 schema (``sarif-2.1.0-rtm.5.json``, the released 2.1.0). The tarball is
pinned by its sha512 and kept in pytest's cache folder, so only the first run downloads it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import urllib.request
from typing import Any

import pytest

from tests.conftest import REQUIRE_SERVICES

TARBALL = "https://registry.npmjs.org/@microsoft/jest-sarif/-/jest-sarif-1.0.0-beta.0.tgz"
SHA512 = "A1fOhPd6Ic5iDk4F9YPw1qNB4XF+7+IviR7xl8r2F6QzQkx5cpY9LsGk2rExiFIEcBbjpVnSmwWGBukASkiQ9A=="
MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"


def sarif_schema(cache: pytest.Cache) -> dict[str, Any]:
    """The schema as a dict; skips (fails in CI) when the registry cannot be reached."""
    stored = cache.mkdir("sarif-schema") / "sarif-2.1.0-rtm.5.json"
    if not stored.is_file():
        stored.write_bytes(_download())
    schema: dict[str, Any] = json.loads(stored.read_text(encoding="utf-8"))
    return schema


def _download() -> bytes:
    try:
        with urllib.request.urlopen(TARBALL, timeout=30) as response:  # fixed https URL
            tarball = response.read()
    except OSError as error:
        message = f"cannot download the SARIF schema from the npm registry ({error})"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    digest = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    assert digest == SHA512, "the SARIF schema tarball does not match its pinned sha512"
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile(MEMBER)
        assert member is not None
        return member.read()
