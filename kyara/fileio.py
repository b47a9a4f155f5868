"""Small I/O helpers: output paths checked before any work (by creating a file there) and atomic
writes, so a failed job never leaves a half-written file and fails on the user's path, not a
temporary name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def probe_writable(folder: Path, target: Path) -> None:
    """Create and remove a temporary file in ``folder``: the only test that also holds for root,
    read-only mounts and pseudo file systems (``os.access`` says yes to root on ``/proc``).
    Raises ``ValueError`` naming ``target`` (the user's path) when it fails."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".kyara-probe-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ValueError(f"output '{target}' cannot be written: no file can be created in '{folder}' ({_why(exc)})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def check_output_path(path: str | os.PathLike, suffixes: tuple[str, ...] | None = None) -> Path:
    """Validate an output path before any work starts.

    Raises ``ValueError`` naming ``path`` when the folder does not exist, no file can be created in
    it (checked by creating one), or the suffix is not one of ``suffixes`` (lower-case, with dot).
    """
    p = Path(path)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise ValueError(f"output '{p}' has suffix '{p.suffix}', expected one of {', '.join(suffixes)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise ValueError(f"output folder '{parent}' does not exist")
    if not parent.is_dir():
        raise ValueError(f"output folder '{parent}' is not a folder")
    if p.is_dir():
        raise ValueError(f"output '{p}' is a folder, expected a file path")
    probe_writable(parent, p)
    return p


def check_output_dir(path: str | os.PathLike) -> Path:
    """Validate an output folder before work starts: it exists as a folder files can be created in,
    or its parent does (the writer creates it). Raises ``ValueError`` naming ``path``."""
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise ValueError(f"output '{p}' exists and is not a folder, expected a folder path")
        probe_writable(p, p)
        return p
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"output folder's parent '{parent}' does not exist or is not a folder")
    probe_writable(parent, p)
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file keeps the suffix of ``path`` so writers that dispatch on it still work.
    """
    p = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=f".tmp{p.suffix}", dir=p.parent or ".")
    except OSError as exc:  # the user's path in the message, not the temporary name
        raise ValueError(f"output '{p}' cannot be written: {_why(exc)}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600 files; give the result the usual permissions (0666 minus umask)
        umask = os.umask(0)
        os.umask(umask)
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~umask)
        try:
            os.replace(tmp_path, p)
        except OSError as exc:
            raise ValueError(f"output '{p}' cannot be written: {_why(exc)}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))
