"""Output folders: checked before any simulation starts, and held by one command at a time.

:func:`claim` refuses, in one line naming the argument, an ``--out`` that is a file, lies under a
file, has a name the file system cannot hold, or cannot be written; then it takes a lock file
(``.siyu-lock``, an advisory ``flock`` the kernel releases when the process ends, however it ends),
so a second command on the same folder is refused with the first one's pid instead of mixing its
files into the first one's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

LOCK_NAME = ".siyu-lock"
"""Lock file inside an output folder (left in place; only the lock on it matters)."""

_HELD: dict[str, int] = {}
"""Folders this process holds, by resolved path -> file descriptor of the lock."""


class OutputError(ValueError):
    """An output folder that cannot be used: reported in one line, exit code 2."""


def check(out: Path, arg: str = "--out") -> Path:
    """Create ``out`` if needed and prove it writable; an :class:`OutputError` naming ``arg`` otherwise."""
    shown = _short(str(out))
    name_max, path_max = _limits(out)
    for part in out.parts:
        if len(os.fsencode(part)) > name_max:
            raise OutputError(f"{arg} {shown}: a folder name is {len(os.fsencode(part)):,} bytes long; "
                              f"this file system allows {name_max}")
    if len(os.fsencode(str(out.absolute()))) > path_max - 200:  # room for the run files inside
        raise OutputError(f"{arg} {shown}: the path is too long for the files written inside it; "
                          f"allowed: {path_max - 200} bytes")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{arg} {shown}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".siyu-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"{arg} {shown}: cannot write there ({exc.strerror or type(exc).__name__})") from None
    return out


def claim(out: Path, arg: str = "--out") -> Path:
    """:func:`check` ``out``, then lock it for this process until :func:`release` or the process ends."""
    check(out, arg)
    key = str(out.resolve())
    if key in _HELD:
        return out
    lock = out / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"{arg} {_short(str(out))}: cannot create {LOCK_NAME} "
                          f"({exc.strerror or type(exc).__name__})") from None
    if not _try_lock(fd):
        holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another siyu command"
        os.close(fd)
        raise OutputError(f"{arg} {_short(str(out))}: in use by {_short(holder, 120)}; wait for it to finish "
                          f"or choose another folder")
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} ({_short(' '.join(['siyu', *sys.argv[1:]]), 100)})\n".encode())
    _HELD[key] = fd
    return out


def release() -> None:
    """Unlock every folder this process holds (the lock files stay; they are empty of meaning then)."""
    while _HELD:
        _, fd = _HELD.popitem()
        try:
            os.close(fd)  # closing the descriptor drops the flock
        except OSError:  # pragma: no cover - already closed
            pass


def _try_lock(fd: int) -> bool:
    """Take the advisory lock on ``fd`` without waiting; True when this process now holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, folders are not kept apart
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _limits(out: Path) -> tuple[int, int]:
    """Longest file name and path of the file system ``out`` would live on (POSIX defaults elsewhere)."""
    probe = out
    while not _exists(probe) and probe != probe.parent:
        probe = probe.parent
    try:
        return os.pathconf(probe, "PC_NAME_MAX"), os.pathconf(probe, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return 255, 4096


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name the file system cannot hold does not exist
        return False


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
