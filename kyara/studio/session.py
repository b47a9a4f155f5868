"""Where the studio writes, and what it accepts: session folders and upload checks (no gradio here).

Every file the studio shows or offers for download is written under one output root (``kyara
studio -o DIR``, default a fresh temporary folder); each browser session gets its own subfolder
``<root>/<session id>/``, and each job a numbered folder inside it (``create-0001``, ``image-0003``),
so a later job never overwrites a file a page still shows. The web server is told to serve only
this root (see :mod:`kyara.studio.server`).

Uploads are checked twice: the server refuses bodies above the size limit, and
:func:`check_upload` checks the suffix and the content (magic bytes, a PNG/JPEG that decodes)
before any handler reads the file.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

# upload kind -> accepted suffixes (lower case, with dot)
UPLOAD_KINDS: dict[str, tuple[str, ...]] = {
    "image": (".png", ".jpg", ".jpeg", ".webp"),
    "openpose": (".json",),
    "motion": (".bvh", ".npz"),
    "avatar": (".vrm", ".glb", ".json"),
}
DEFAULT_MAX_UPLOAD_MB = 16.0
_SESSION_RE = re.compile(r"[^A-Za-z0-9_-]")
_counter_lock = threading.Lock()
_counters: dict[str, "itertools.count[int]"] = {}


@dataclass(frozen=True)
class Workspace:
    """One browser session's output folder ``dir`` (created on first use)."""

    dir: Path

    @classmethod
    def for_session(cls, root: str | os.PathLike, session_id: str | None) -> "Workspace":
        sid = _SESSION_RE.sub("", str(session_id or "local"))[:32] or "local"
        return cls(Path(root) / sid)

    def job_dir(self, kind: str) -> Path:
        """A fresh numbered folder ``<dir>/<kind>-NNNN`` for one job's files."""
        if not re.fullmatch(r"[a-z]+", kind):
            raise ValueError(f"job kind '{kind}' is not valid, expected lower-case letters")
        self.dir.mkdir(parents=True, exist_ok=True)
        key = f"{self.dir}/{kind}"
        with _counter_lock:
            count = _counters.setdefault(key, itertools.count(1))
            while True:
                p = self.dir / f"{kind}-{next(count):04d}"
                if not p.exists():
                    p.mkdir()
                    return p

    def contains(self, path: str | os.PathLike) -> bool:
        """True when ``path`` resolves inside this session's folder (symlinks followed)."""
        return is_inside(path, self.dir)


def is_inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """True when ``path`` resolves to ``root`` or a file below it (``..`` and symlinks resolved)."""
    try:
        p = Path(path).resolve()
        r = Path(root).resolve()
    except (OSError, RuntimeError):
        return False
    return p == r or r in p.parents


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def check_upload(path: str | os.PathLike | None, kind: str, max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> Path:
    """Validate an uploaded file before use: it exists, is at most ``max_mb`` MiB, has a suffix of
    ``kind`` (:data:`UPLOAD_KINDS`) and content that matches (images must decode). Returns the
    path; raises ``ValueError`` with one line naming the file and what was expected."""
    if kind not in UPLOAD_KINDS:
        raise ValueError(f"upload kind '{kind}' is unknown, expected one of {', '.join(UPLOAD_KINDS)}")
    if path is None or str(path) == "":
        raise ValueError(f"no file was uploaded, expected a {'/'.join(UPLOAD_KINDS[kind])} file")
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise ValueError(f"upload '{name}' is missing, expected a file")
    size = p.stat().st_size
    if size > max_mb * 2**20:
        raise ValueError(f"upload '{name}' is {size / 2**20:.1f} MB, expected at most {max_mb:g} MB")
    if size == 0:
        raise ValueError(f"upload '{name}' is empty, expected a {'/'.join(UPLOAD_KINDS[kind])} file")
    suffix = p.suffix.lower()
    if suffix not in UPLOAD_KINDS[kind]:
        raise ValueError(f"upload '{name}' has type '{suffix or 'none'}', expected {', '.join(UPLOAD_KINDS[kind])}")
    with open(p, "rb") as f:
        head = f.read(64)
    if kind == "image":
        fmt = _sniff(head)
        if fmt is None:
            raise ValueError(f"upload '{name}' is not a PNG, JPEG or WebP image")
        _check_decodes(p, name)
    elif suffix == ".json":
        if _json_start(head) not in ("{", "["):
            raise ValueError(f"upload '{name}' is not JSON text, expected a .json file")
    elif suffix in (".vrm", ".glb"):
        if head[:4] != b"glTF":
            raise ValueError(f"upload '{name}' is not a binary glTF (no 'glTF' magic), expected a .vrm/.glb file")
    elif suffix == ".npz":
        if head[:4] != b"PK\x03\x04":
            raise ValueError(f"upload '{name}' is not a NumPy .npz archive")
    elif suffix == ".bvh":
        if not head.lstrip().upper().startswith(b"HIERARCHY"):
            raise ValueError(f"upload '{name}' is not a BVH file (no HIERARCHY header)")
    return p


def _json_start(head: bytes) -> str:
    """The first non-blank character of a JSON file from its first bytes: a UTF-8 byte order mark
    is skipped, UTF-16 (with its BOM) decoded, as the JSON readers do."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            body = head[len(bom):]
            text = body[: len(body) - len(body) % 2].decode(codec, "replace") if codec != "utf-8" else \
                body.decode(codec, "replace")
            return text.lstrip()[:1]
    return head.lstrip()[:1].decode("latin-1")


def _check_decodes(p: Path, name: str) -> None:
    """Decode every pixel (truncated or corrupt data, decompression bombs and formats other than the
    accepted ones are refused, with the shared limit :data:`kyara.fileio.MAX_IMAGE_PIXELS`)."""
    from kyara.fileio import load_image

    load_image(p, "upload", label=name).close()
