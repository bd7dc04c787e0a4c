"""Where numba keeps compiled kernels: a folder keyed by a hash of the engine's source.

numba invalidates a cached kernel only when the kernel's own file changes, yet kernels freeze the
constants they import (statistic indices, parameter slots) at compile time. Keying the cache folder
by the source of every module with kernels means any change to any of them starts a fresh cache,
so a stale kernel can never run. Only the few most recent folders are kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numba

_PACKAGES = ("sim", "policies")


def source_hash() -> str:
    """Hash of the Python sources of the packages that define or feed kernels."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in _PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


COLD = False
"""True when this version's kernels have never been compiled here (the first run compiles them)."""


def configure() -> Path:
    """Point numba's cache at ``$SIYU_CACHE_DIR`` (default ~/.cache/siyu) / numba-<source hash>."""
    global COLD
    xdg = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    base = Path(os.environ.get("SIYU_CACHE_DIR") or xdg / "siyu")
    folder = base / f"numba-{source_hash()}"
    COLD = not folder.is_dir()
    if COLD:
        prune(base, keep=KEEP_VERSIONS)
    numba.config.CACHE_DIR = str(folder)
    return folder


KEEP_VERSIONS = 4
"""Cache folders of other siyu versions kept (the most recently used); older ones are removed."""


def prune(base: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` most recently modified ``numba-*`` folders under ``base``."""
    try:
        folders = sorted((p for p in base.glob("numba-*") if p.is_dir()), key=lambda p: p.stat().st_mtime,
                         reverse=True)
    except OSError:
        return []
    removed = []
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)  # another process may be using it: it recompiles
        removed.append(old)
    return removed
