"""Small I/O helpers: atomic writes so a failed job never leaves a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def check_output_path(path: str | os.PathLike, suffixes: tuple[str, ...] | None = None) -> Path:
    """Validate an output path before any work starts.

    Raises ``ValueError`` when the folder does not exist, is not writable, or the suffix is not one
    of ``suffixes`` (lower-case, with dot).
    """
    p = Path(path)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise ValueError(f"output '{p}' has suffix '{p.suffix}', expected one of {', '.join(suffixes)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise ValueError(f"output folder '{parent}' does not exist")
    if not parent.is_dir():
        raise ValueError(f"output folder '{parent}' is not a folder")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"output folder '{parent}' is not writable")
    if p.is_dir():
        raise ValueError(f"output '{p}' is a folder, expected a file path")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file keeps the suffix of ``path`` so writers that dispatch on it still work.
    """
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=f".tmp{p.suffix}", dir=p.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600 files; give the result the usual permissions (0666 minus umask)
        umask = os.umask(0)
        os.umask(umask)
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, p)
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
