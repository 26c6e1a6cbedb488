"""Write generated files all or nothing: a refusal or a failure leaves the disk as it was.

New folders are written in full beside their final place under a hidden name, then renamed
into place; an edited file is written beside itself, then replaces it. Renames are the last
steps, so a failure before them (a full disk, a permission) removes what was staged and
changes nothing, and a failure among them undoes the renames already done.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from dolmen.scaffold._render import RenderedFile
from dolmen.scaffold.exceptions import ScaffoldError


def write_all(
    new_folders: Mapping[Path, Sequence[RenderedFile]], edits: Mapping[Path, str] | None = None
) -> None:
    """Create each folder of ``new_folders`` with its files, and replace each file of ``edits``.

    Every folder must not exist yet and its parent must; otherwise nothing is written.
    """
    for folder in new_folders:
        if folder.exists() or folder.is_symlink():
            raise ScaffoldError(f"{folder} exists already; nothing was written")
        if not folder.parent.is_dir():
            raise ScaffoldError(f"{folder.parent} is not a folder; nothing was written")
    staged: dict[Path, Path] = {}
    edited: dict[Path, Path] = {}
    placed: list[Path] = []
    try:
        for folder, folder_files in new_folders.items():
            staged[folder] = _stage(folder, folder_files)
        for target, text in (edits or {}).items():
            edited[target] = _stage_edit(target, text)
        for folder, staging in staged.items():
            staging.rename(folder)
            placed.append(folder)
        for target, staging_file in edited.items():
            os.replace(staging_file, target)
    except BaseException:
        for path in [*staged.values(), *placed]:
            shutil.rmtree(path, ignore_errors=True)
        for staging_file in edited.values():
            with contextlib.suppress(FileNotFoundError):
                staging_file.unlink()
        raise


def _stage(folder: Path, folder_files: Sequence[RenderedFile]) -> Path:
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".new", dir=folder.parent))
    try:
        staging.chmod(0o777 & ~_umask())
        for file in folder_files:
            path = staging.joinpath(*file.path.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(file.text, encoding="utf-8")
            if file.executable:
                path.chmod(path.stat().st_mode | 0o111 & ~_umask())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _stage_edit(target: Path, text: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".new", dir=target.parent)
    staging = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        staging.chmod(target.stat().st_mode & 0o7777)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return staging


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
