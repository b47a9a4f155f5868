"""The on-disk format of a kyara dataset: byte-exact encoders, the tar shard writer, decoders.

A dataset folder holds ``manifest.json`` and tar shards ``{split}-{n:05d}.tar`` (plain POSIX
ustar). Members are named WebDataset-style ``{key}.{field}``: everything before the first dot
is the record key, the rest names the field and its format by extension. Records of one
character are contiguous: first the character record (key = character id, e.g.
``3f9a0c1b2d4e.spec.json``), then its samples (key = ``{character id}_{n:03d}``). See
docs/dataset.md for the fields of each kind.

Every byte is a function of the content: tar headers have mtime 0, uid/gid 0, empty owner
names and mode 0644; PNGs carry no time or text chunks; NPZ members are zip entries dated
1980-01-01; JSON is written with sorted keys. Hence the same arguments give the same shards.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

PARTIAL_SUFFIX = ".partial"  # shards being written: ".{name}.partial", renamed when complete
PNG_LEVEL = 6
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


# -- encoders ---------------------------------------------------------------------------------
def png_bytes(image: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """PNG of ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` uint8 (L, L, RGB, RGBA).
    With ``palette [256, 3]`` uint8 a ``[H, W]`` label image is written as a palette PNG whose
    pixel values stay the labels."""
    from PIL import Image

    a = np.ascontiguousarray(image)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ValueError(f"image has shape {a.shape} and dtype {a.dtype}, expected uint8 [H, W(, 1|3|4)]")
    if palette is not None:
        im = Image.frombytes("P", (a.shape[1], a.shape[0]), a.tobytes())
        im.putpalette(np.asarray(palette, np.uint8).reshape(-1).tolist())
    else:
        im = Image.fromarray(a)
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=PNG_LEVEL)
    return buf.getvalue()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    """A compressed ``.npz`` (what ``np.load`` reads) whose zip entries carry a fixed date."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue(), compresslevel=6)
    return buf.getvalue()


def json_bytes(obj) -> bytes:
    """Compact UTF-8 JSON with sorted keys (NaN/Infinity refused)."""
    return (json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def parts_palette() -> np.ndarray:
    """``[256, 3]`` uint8 display colours of the part labels (255 = background, black)."""
    from kyara.render.previews import BACKGROUND_LABEL, PART_PALETTE

    lut = np.zeros((256, 3), dtype=np.uint8)
    lut[:BACKGROUND_LABEL] = np.asarray(PART_PALETTE)[np.arange(BACKGROUND_LABEL) % len(PART_PALETTE)]
    return lut


# -- shards -----------------------------------------------------------------------------------
def tar_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    """An uncompressed ustar archive of ``(name, data)`` in the given order, with fixed headers."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def partial_name(name: str) -> str:
    return f".{name}{PARTIAL_SUFFIX}"


def write_shard(folder: Path, name: str, data: bytes) -> str:
    """Write ``folder/name`` atomically (a hidden ``.partial`` file, fsync, rename); returns its
    sha256. A shard that already exists is never rewritten (``FileExistsError``)."""
    final = folder / name
    if final.exists():
        raise FileExistsError(f"shard '{final}' exists already; finished shards are never rewritten")
    tmp = folder / partial_name(name)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return hashlib.sha256(data).hexdigest()


LEFTOVER_PATTERNS = (f".*.tar{PARTIAL_SUFFIX}", ".manifest.*.tmp.json", ".kyara-probe-*.tmp")


def remove_partials(folder: Path) -> list[Path]:
    """Delete what a killed run can leave behind (``.partial`` shards, a manifest's temporary
    file, an output probe); returns what was removed."""
    gone = []
    for pattern in LEFTOVER_PATTERNS:
        for p in sorted(folder.glob(pattern)):
            p.unlink()
            gone.append(p)
    return gone


# -- decoders (plain tarfile + numpy + Pillow; what docs/dataset.md shows) ----------------------
def split_member(name: str) -> tuple[str, str]:
    """``"abc_001.udp.npz"`` -> ``("abc_001", "udp.npz")``."""
    base = name.rsplit("/", 1)[-1]
    key, _, field = base.partition(".")
    return key, field


def iter_records(path: str | os.PathLike) -> Iterator[tuple[str, dict[str, bytes]]]:
    """``(key, {field: bytes})`` for every record of one shard, in file order."""
    key, fields = None, {}
    with tarfile.open(path, mode="r:") as tf:
        for info in tf:
            if not info.isfile():
                continue
            k, field = split_member(info.name)
            if k != key and key is not None:
                yield key, fields
                fields = {}
            key = k
            fh = tf.extractfile(info)
            fields[field] = fh.read() if fh is not None else b""
    if key is not None:
        yield key, fields


def decode_field(field: str, data: bytes):
    """Bytes of one field -> ``np.ndarray`` (``.png``: uint8 [H, W] or [H, W, C], palette PNGs
    as their label values; ``.npz``: the array under key ``i``), ``dict`` (``.json``) or bytes."""
    if field.endswith(".png") or field == "png":
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return np.array(im)
    if field.endswith(".npz") or field == "npz":
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return z["i"]
    if field.endswith(".json") or field == "json":
        return json.loads(data.decode("utf-8"))
    return data
