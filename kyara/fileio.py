"""Small I/O helpers: output paths checked before any work (by creating a file there) and atomic
writes, so a failed job never leaves a half-written file and fails on the user's path, not a
temporary name; and the one reader of user images (:func:`load_image`), which refuses
decompression bombs, corrupt files and unexpected formats with one line."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
import warnings
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


# -- images read from the user: decompression bombs and corrupt files refused before any work ----
MAX_IMAGE_PIXELS = 64_000_000  # the largest image kyara decodes (width x height), for CLI and studio alike
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")  # PIL formats read; never EPS/PDF (Ghostscript)
_PIL_LOCK = threading.Lock()  # PIL's limit is a module global: set it, and the warning filter, one caller at a time


def load_image(path: str | os.PathLike, what: str = "image", max_pixels: int = MAX_IMAGE_PIXELS,
               label: str | None = None):
    """Open and fully decode an image file; returns the loaded ``PIL.Image`` (file closed).

    The size in the header is checked before a pixel is decoded: PIL's own check
    (``Image.MAX_IMAGE_PIXELS``) is set to ``max_pixels`` for the call and its
    ``DecompressionBombWarning``/``DecompressionBombError`` become ``ValueError``, so a PNG that
    declares 100000x100000 pixels in a few KB is refused at once. Truncated or corrupt data, a
    file that is no image, and formats outside :data:`IMAGE_FORMATS` raise ``ValueError``; a
    missing file ``FileNotFoundError``. Messages name ``what '<label or path>'``.
    """
    from PIL import Image

    p = Path(path)
    shown = f"{what} '{label if label is not None else p}'"
    if not p.is_file():
        raise FileNotFoundError(f"{shown} does not exist, expected an image file")
    limit = f"at most {max_pixels / 1e6:g} megapixels"
    with _PIL_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = int(max_pixels)
        try:
            with open(p, "rb") as f:
                im = Image.open(f, formats=IMAGE_FORMATS)
                w, h = im.size
                if w < 1 or h < 1 or w * h > max_pixels:  # also when PIL's own check is switched off
                    raise _Refused(f"{shown} declares {w}x{h} pixels, expected {limit} (refused before decoding)")
                im.load()  # every pixel: truncated or corrupt data raises here
            return im
        except _Refused as exc:
            raise ValueError(str(exc)) from None
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            m = re.search(r"\((\d+) pixels\)", str(exc))
            size = f"{int(m.group(1))} pixels" if m else "too many pixels"
            raise ValueError(f"{shown} declares {size}, expected {limit} (a decompression bomb, "
                             "refused before decoding)") from None
        except Image.UnidentifiedImageError:
            if _image_magic(p):  # the signature of an image, data PIL cannot read: a broken file
                raise ValueError(f"{shown} is a corrupt image (its header cannot be read)") from None
            raise ValueError(f"{shown} is not a {', '.join(IMAGE_FORMATS[:-1])} or {IMAGE_FORMATS[-1]} image") from None
        except Exception as exc:  # noqa: BLE001 - PIL raises many types (OSError, SyntaxError, zlib, struct) for bad data
            why = " ".join(str(exc).split())[:120]
            raise ValueError(f"{shown} is a corrupt image ({type(exc).__name__}{': ' + why if why else ''})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _image_magic(p: Path) -> bool:
    """Whether the file starts with the signature of one of :data:`IMAGE_FORMATS`."""
    with open(p, "rb") as f:
        head = f.read(12)
    return (head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00",
                             b"MM\x00*")) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"))


class _Refused(ValueError):
    """A refusal raised inside :func:`load_image`'s PIL block (not one of PIL's own ValueErrors)."""


def check_image(path: str | os.PathLike, what: str = "image", max_pixels: int = MAX_IMAGE_PIXELS,
                label: str | None = None) -> tuple[int, int]:
    """:func:`load_image` for its checks only; returns ``(width, height)`` in pixels."""
    im = load_image(path, what, max_pixels, label)
    size = im.size
    im.close()
    return size


YAML_MAX_BYTES = 1 << 20  # mapping and job files are a few KB
YAML_MAX_DEPTH = 32


def load_yaml(path: str | os.PathLike, what: str = "YAML file", max_bytes: int = YAML_MAX_BYTES,
              max_depth: int = YAML_MAX_DEPTH) -> object:
    """``yaml.safe_load`` of a user's file, with limits: size, nesting depth (checked on the event
    stream, which needs no recursion, before anything is built) and UTF-8 (a byte order mark is fine).
    No tags that construct Python objects (safe loader). Aliases are kept as shared references, so
    an alias bomb costs no memory; print its values with :func:`brief`."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} '{p}' does not exist")
    if p.stat().st_size > max_bytes:
        raise ValueError(f"{what} '{p}' is {p.stat().st_size} bytes, expected at most {max_bytes}")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{what} '{p}' is not UTF-8 text (byte {e.start})") from None
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > max_depth:
                    raise ValueError(f"{what} '{p}' is nested more than {max_depth} levels deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(e, "problem", None) or e).split())[:120]
        raise ValueError(f"{what} '{p}'{line}: not valid YAML ({problem})") from None
    except RecursionError:
        raise ValueError(f"{what} '{p}' is nested too deep") from None


def brief(value: object, limit: int = 60) -> str:
    """A short repr of a user's value for an error line: bounded work and length, whatever its size."""
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxdict, r.maxtuple, r.maxstring, r.maxother = 2, 4, 4, 4, limit, limit
    text = r.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
