"""Where matcher keeps files of its own: built models and the embedding cache."""
from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return matcher's cache directory.

    Parameters
    ----------
    cache_dir : str or os.PathLike, optional
        Explicit directory; otherwise ``$MATCHER_CACHE_DIR`` if set, else ``~/.cache/matcher``.

    Returns
    -------
    pathlib.Path
        The (not necessarily existing) cache directory.

    Examples
    --------
    >>> default_cache_dir("/tmp/x")
    PosixPath('/tmp/x')
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("MATCHER_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "matcher"
