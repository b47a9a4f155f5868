"""A bounded glTF 2.0 reader (``.glb``, ``.vrm``, ``.gltf`` + ``.bin`` / data URIs) for avatar import.

Every check happens at the boundary and fails with a one-line ``ValueError`` naming the file and
what was expected:

* the file size is checked against :attr:`GltfLimits.max_bytes` *before* anything is read, so a
  2 GB file is refused without reading it; the GLB header's total length must equal the file size
  and every chunk must fit inside it;
* the JSON chunk must parse to an object with ``asset.version`` 2.x;
* accessors are decoded only on request (:meth:`GltfDocument.accessor`), each checked against its
  buffer view and buffer (offset + stride x count inside the bytes, indices and sparse indices in
  range);
* ``.gltf`` buffers may be base64 data URIs or files *next to* the ``.gltf`` (no absolute paths, no
  ``..``, no URL schemes); their declared and actual sizes count towards the same size cap.

Coordinates are returned exactly as stored (glTF: metres, +Y up); conventions are the converter's.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np

GLB_MAGIC = 0x46546C67  # b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
SUFFIXES = (".vrm", ".glb", ".gltf")

_COMPONENT = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_NORM_SCALE = {np.int8: 127.0, np.uint8: 255.0, np.int16: 32767.0, np.uint16: 65535.0}


@dataclass(frozen=True)
class GltfLimits:
    """Resource limits of the reader."""

    max_bytes: int = 512 * 2**20  # file (plus external buffers) size cap, bytes
    max_json_bytes: int = 64 * 2**20  # JSON chunk cap, bytes
    max_count: int = 50_000_000  # elements of one accessor


@dataclass
class GltfDocument:
    """A parsed glTF: the JSON, its buffers (bytes), and checked accessor decoding."""

    path: Path
    json: dict
    buffers: list[bytes] = field(default_factory=list)
    container: str = "glb"  # "glb" or "gltf"
    max_count: int = GltfLimits.max_count

    def _fail(self, msg: str) -> ValueError:
        return ValueError(f"{self.path.name}: {msg}")

    def items(self, key: str) -> list:
        v = self.json.get(key, [])
        if not isinstance(v, list):
            raise self._fail(f"'{key}' is a {type(v).__name__}, expected a list")
        return v

    def item(self, key: str, index: object, what: str | None = None) -> dict:
        arr = self.items(key)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(arr):
            raise self._fail(f"{what or key} index {index!r} is out of range, expected 0..{len(arr) - 1}")
        v = arr[index]
        if not isinstance(v, dict):
            raise self._fail(f"{key}[{index}] is a {type(v).__name__}, expected an object")
        return v

    def view_bytes(self, index: int) -> tuple[memoryview, int]:
        """(bytes of buffer view ``index``, its byteStride or 0)."""
        bv = self.item("bufferViews", index, "bufferView")
        self.item("buffers", bv.get("buffer"), "buffer")  # validates the index
        data = self.buffers[bv["buffer"]]
        off, length = _int(bv.get("byteOffset", 0), self, "bufferView.byteOffset"), _int(bv.get("byteLength"), self, "bufferView.byteLength")
        if off + length > len(data):
            raise self._fail(f"bufferView {index} spans bytes {off}..{off + length}, beyond its buffer's {len(data)} bytes")
        stride = _int(bv.get("byteStride", 0), self, "bufferView.byteStride")
        return memoryview(data)[off:off + length], stride

    def _read(self, view: int, offset: int, count: int, dtype, ncomp: int, what: str) -> np.ndarray:
        data, stride = self.view_bytes(view)
        item = np.dtype(dtype).itemsize * ncomp
        step = stride or item
        if stride and stride < item:
            raise self._fail(f"{what}: byteStride {stride} is smaller than its element size {item}")
        need = offset + (count - 1) * step + item if count else 0
        if offset < 0 or need > len(data):
            raise self._fail(f"{what} needs bytes {offset}..{need} of bufferView {view}, which has {len(data)}: "
                             "accessor out of range")
        if count == 0:
            return np.zeros((0, ncomp), dtype=dtype)
        if step == item:
            return np.frombuffer(data, dtype=dtype, count=count * ncomp, offset=offset).reshape(count, ncomp).copy()
        rows = np.lib.stride_tricks.as_strided(np.frombuffer(data, dtype=np.uint8, offset=offset, count=need - offset),
                                               shape=(count, item), strides=(step, 1))
        return np.ascontiguousarray(rows).view(dtype).reshape(count, ncomp)

    def accessor(self, index: int, normalize: bool = True) -> np.ndarray:
        """Accessor ``index`` as ``[count, k]`` (``[count]`` for SCALAR). Normalized integer
        accessors become float32 in [0, 1] (or [-1, 1]) when ``normalize``."""
        acc = self.item("accessors", index, "accessor")
        ct = acc.get("componentType")
        if ct not in _COMPONENT:
            raise self._fail(f"accessor {index} componentType {ct!r} is unknown, expected one of {sorted(_COMPONENT)}")
        kind = acc.get("type")
        if kind not in _NCOMP:
            raise self._fail(f"accessor {index} type {kind!r} is unknown, expected one of {', '.join(_NCOMP)}")
        dtype, k = _COMPONENT[ct], _NCOMP[kind]
        count = _int(acc.get("count"), self, f"accessor {index} count")
        if count > self.max_count:
            raise self._fail(f"accessor {index} count {count} is too large, expected at most {self.max_count}")
        what = f"accessor {index}"
        if "bufferView" in acc:
            out = self._read(acc["bufferView"], _int(acc.get("byteOffset", 0), self, what), count, dtype, k, what)
        else:
            out = np.zeros((count, k), dtype=dtype)
        sp = acc.get("sparse")
        if sp is not None:
            if not isinstance(sp, dict):
                raise self._fail(f"{what} sparse is not an object")
            n = _int(sp.get("count"), self, f"{what} sparse.count")
            ind, val = sp.get("indices") or {}, sp.get("values") or {}
            ict = ind.get("componentType")
            if ict not in (5121, 5123, 5125):
                raise self._fail(f"{what} sparse indices componentType {ict!r}, expected 5121, 5123 or 5125")
            idx = self._read(ind.get("bufferView"), _int(ind.get("byteOffset", 0), self, what), n, _COMPONENT[ict], 1,
                             f"{what} sparse indices")[:, 0].astype(np.int64)
            if n and (idx.max() >= count):
                raise self._fail(f"{what} sparse index {int(idx.max())} is out of range, expected < {count}")
            vals = self._read(val.get("bufferView"), _int(val.get("byteOffset", 0), self, what), n, dtype, k,
                              f"{what} sparse values")
            out = out.copy()
            out[idx] = vals
        if normalize and acc.get("normalized") and dtype in _NORM_SCALE:
            out = np.maximum(out.astype(np.float32) / np.float32(_NORM_SCALE[dtype]), -1.0)
        return out[:, 0] if k == 1 else out

    def indices(self, index: int, num_vertices: int) -> np.ndarray:
        """An index accessor ``[N]`` int64, every index checked against ``num_vertices``."""
        idx = np.asarray(self.accessor(index), dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= num_vertices):
            raise self._fail(f"accessor {index} holds vertex index {int(idx.max())}, expected < {num_vertices} "
                             "(accessor out of range)")
        return idx

    def image_bytes(self, index: int) -> bytes | None:
        """Encoded bytes of image ``index`` (bufferView or data URI); None for external files
        (textures are optional: a missing one only loses colour)."""
        im = self.item("images", index, "image")
        if "bufferView" in im:
            return bytes(self.view_bytes(im["bufferView"])[0])
        uri = im.get("uri")
        if isinstance(uri, str) and uri.startswith("data:"):
            return _data_uri(uri, self.path)
        if isinstance(uri, str) and self.container == "gltf":
            try:
                p = _safe_relative(self.path, uri)
            except ValueError:
                return None
            if p.is_file() and p.stat().st_size <= 256 * 2**20:
                return p.read_bytes()
        return None


def _int(v: object, doc: GltfDocument | None, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        name = doc.path.name if doc is not None else "glTF"
        raise ValueError(f"{name}: {what} is {v!r}, expected a non-negative integer")
    return v


def _data_uri(uri: str, path: Path) -> bytes:
    head, _, payload = uri.partition(",")
    if ";base64" not in head:
        raise ValueError(f"{path.name}: data URI '{head[:40]}' is not base64, expected data:...;base64,...")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{path.name}: data URI holds invalid base64") from None


def _safe_relative(gltf_path: Path, uri: str) -> Path:
    """The file ``uri`` names beside ``gltf_path``; absolute paths, ``..`` and URL schemes refused."""
    rel = unquote(uri)
    if ":" in rel.split("/")[0] or rel.startswith(("/", "\\")) or os.path.isabs(rel):
        raise ValueError(f"{gltf_path.name}: buffer uri '{uri}' is not a relative file name, expected a file "
                         "beside the .gltf")
    parts = rel.replace("\\", "/").split("/")
    if any(p == ".." for p in parts):
        raise ValueError(f"{gltf_path.name}: buffer uri '{uri}' leaves the .gltf's folder ('..' is refused)")
    base = gltf_path.resolve().parent
    p = (base / rel).resolve()
    if base != p and base not in p.parents:
        raise ValueError(f"{gltf_path.name}: buffer uri '{uri}' leaves the .gltf's folder")
    return p


def _check_json(gltf: object, path: Path) -> dict:
    if not isinstance(gltf, dict):
        raise ValueError(f"{path.name}: glTF JSON is a {type(gltf).__name__}, expected an object")
    asset = gltf.get("asset")
    version = asset.get("version") if isinstance(asset, dict) else None
    if not isinstance(version, str) or not version.startswith("2."):
        raise ValueError(f"{path.name}: asset.version is {version!r}, expected glTF '2.0'")
    return gltf


def _parse_json(raw: bytes, path: Path) -> dict:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path.name}: glTF JSON is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path.name}: glTF JSON error at line {e.lineno} column {e.colno}: {e.msg}") from None
    return _check_json(data, path)


def read_gltf(path: str | os.PathLike, limits: GltfLimits | None = None) -> GltfDocument:
    """Read ``path`` (``.vrm``/``.glb``: binary; ``.gltf``: JSON + buffers) into a :class:`GltfDocument`.

    The size cap is checked from ``stat`` before reading; a GLB whose header length, chunk lengths
    or chunk types disagree with the file is refused. Raises ``FileNotFoundError`` or a one-line
    ``ValueError``.
    """
    lim = limits or GltfLimits()
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"avatar file '{p}' does not exist")
    if p.is_dir():
        raise ValueError(f"avatar '{p}' is a folder, expected a .vrm, .glb or .gltf file")
    size = p.stat().st_size
    if size > lim.max_bytes:
        raise ValueError(f"{p.name} is {size / 2**20:.0f} MB, larger than the {lim.max_bytes / 2**20:.0f} MB limit "
                         "for avatar files")
    with open(p, "rb") as fh:
        head = fh.read(12)
        if len(head) >= 4 and struct.unpack_from("<I", head)[0] == GLB_MAGIC:
            return _read_glb(fh, p, size, head, lim)
        if p.suffix.lower() != ".gltf":
            text_like = head.lstrip()[:1] == b"{"
            raise ValueError(f"{p.name} is not a glTF binary (no 'glTF' magic in its first 4 bytes)"
                             + (", it looks like JSON: name it .gltf" if text_like else ""))
        if size > lim.max_json_bytes:
            raise ValueError(f"{p.name}: JSON is {size} bytes, expected at most {lim.max_json_bytes}")
        gltf = _parse_json(head + fh.read(), p)
    doc = GltfDocument(p, gltf, [], "gltf")
    total = size
    for i, b in enumerate(doc.items("buffers")):
        if not isinstance(b, dict):
            raise ValueError(f"{p.name}: buffers[{i}] is not an object")
        length = _int(b.get("byteLength"), doc, f"buffers[{i}].byteLength")
        total += length
        if total > lim.max_bytes:
            raise ValueError(f"{p.name}: buffers add up to more than the {lim.max_bytes / 2**20:.0f} MB limit")
        uri = b.get("uri")
        if not isinstance(uri, str):
            raise ValueError(f"{p.name}: buffers[{i}] has no uri, expected a data URI or a .bin file beside the .gltf")
        if uri.startswith("data:"):
            data = _data_uri(uri, p)
        else:
            f = _safe_relative(p, uri)
            if not f.is_file():
                raise FileNotFoundError(f"{p.name}: buffer file '{uri}' does not exist beside the .gltf")
            if f.stat().st_size > length + 4 or f.stat().st_size > lim.max_bytes:
                raise ValueError(f"{p.name}: buffer file '{uri}' is {f.stat().st_size} bytes, declared {length}")
            data = f.read_bytes()
        if len(data) < length:
            raise ValueError(f"{p.name}: buffers[{i}] has {len(data)} bytes, declared byteLength {length}")
        doc.buffers.append(data[:length])
    return doc


def _read_glb(fh, p: Path, size: int, head: bytes, lim: GltfLimits) -> GltfDocument:
    if len(head) < 12:
        raise ValueError(f"{p.name}: GLB header is truncated ({len(head)} bytes), expected 12")
    _, version, total = struct.unpack_from("<III", head)
    if version != 2:
        raise ValueError(f"{p.name}: GLB version {version}, expected 2")
    if total != size:
        raise ValueError(f"{p.name}: GLB header says {total} bytes, the file has {size}: truncated or broken")
    chunk = fh.read(8)
    if len(chunk) < 8:
        raise ValueError(f"{p.name}: GLB has no JSON chunk header")
    jlen, jtype = struct.unpack("<II", chunk)
    if jtype != CHUNK_JSON:
        raise ValueError(f"{p.name}: GLB's first chunk type is 0x{jtype:08x}, expected JSON")
    if 20 + jlen > size:
        raise ValueError(f"{p.name}: GLB JSON chunk length {jlen} runs past the end of the {size}-byte file "
                         "(broken chunk length)")
    if jlen > lim.max_json_bytes:
        raise ValueError(f"{p.name}: GLB JSON chunk is {jlen} bytes, expected at most {lim.max_json_bytes}")
    gltf = _parse_json(fh.read(jlen), p)
    binary = b""
    off = 20 + jlen  # chunk lengths include their padding
    fh.seek(off)
    chunk = fh.read(8)
    if len(chunk) == 8:
        blen, btype = struct.unpack("<II", chunk)
        if btype == CHUNK_BIN:
            if off + 8 + blen > size:
                raise ValueError(f"{p.name}: GLB BIN chunk length {blen} runs past the end of the {size}-byte file "
                                 "(broken chunk length)")
            binary = fh.read(blen)
    doc = GltfDocument(p, gltf, [], "glb")
    for i, b in enumerate(doc.items("buffers")):
        if not isinstance(b, dict):
            raise ValueError(f"{p.name}: buffers[{i}] is not an object")
        length = _int(b.get("byteLength"), doc, f"buffers[{i}].byteLength")
        if i == 0 and "uri" not in b:
            if length > len(binary):
                raise ValueError(f"{p.name}: buffer 0 declares {length} bytes, the BIN chunk has {len(binary)}")
            doc.buffers.append(binary[:length])
        elif isinstance(b.get("uri"), str) and b["uri"].startswith("data:"):
            data = _data_uri(b["uri"], p)
            if len(data) < length:
                raise ValueError(f"{p.name}: buffers[{i}] has {len(data)} bytes, declared byteLength {length}")
            doc.buffers.append(data[:length])
        else:
            raise ValueError(f"{p.name}: buffers[{i}] refers to an external file, expected everything inside the GLB")
    return doc
