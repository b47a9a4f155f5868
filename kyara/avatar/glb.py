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
  ``..``, no URL schemes); their declared and actual sizes count towards the same size cap;
* numbers (:func:`check_numbers`): the JSON may not hold ``NaN``/``Infinity`` tokens, floats that
  overflow, absurd integers or nesting deeper than :attr:`GltfLimits.max_depth`; every float outside
  ``extras`` is within :attr:`GltfLimits.max_abs_value`; node world transforms (an upper bound
  composed down the hierarchy) stay within :attr:`GltfLimits.max_world_scale`,
  :attr:`GltfLimits.min_world_scale` (no collapsed, singular transform) and
  :attr:`GltfLimits.max_world_offset`; float accessor data is finite and within ``max_abs_value``;
  an accessor with no data may not declare more bytes than the buffers hold. Together these keep
  every later product finite, so an import never prints a numpy warning.

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
    max_abs_value: float = 1e5  # any float in the JSON (outside extras) or in float accessor data
    max_world_scale: float = 1e4  # composed scale of a node's world transform (upper bound)
    min_world_scale: float = 1e-6  # ... and lower bound (0: the node and its children collapse)
    max_world_offset: float = 1e6  # composed translation of a node's world transform, file units
    max_depth: int = 64  # JSON nesting


@dataclass
class GltfDocument:
    """A parsed glTF: the JSON, its buffers (bytes), and checked accessor decoding."""

    path: Path
    json: dict
    buffers: list[bytes] = field(default_factory=list)
    container: str = "glb"  # "glb" or "gltf"
    max_count: int = GltfLimits.max_count
    max_abs_value: float = GltfLimits.max_abs_value

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
        else:  # zeros (plus sparse values): never more than the file's own data, before allocating
            need, have = count * k * np.dtype(dtype).itemsize, sum(len(b) for b in self.buffers) + 2**20
            if need > have:
                raise self._fail(f"{what} has no bufferView but declares {count} elements ({need} bytes), "
                                 f"more than the {have - 2**20} bytes of data in the file")
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
        if dtype == np.float32:
            check_float_data(out, self.max_abs_value, f"{self.path.name}: {what}")
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


def check_float_data(a: np.ndarray, limit: float, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` unless every value of ``a`` is finite and ``|x| <= limit``."""
    with np.errstate(invalid="ignore", over="ignore"):
        bad = ~(np.abs(a) <= limit)  # NaN compares False: caught too
    if np.any(bad):
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        x = float(a.reshape(-1)[i])
        kind = "expected finite numbers" if not np.isfinite(x) else f"expected |x| <= {limit:g}"
        raise ValueError(f"{what} holds {x:g} at component {i}, {kind}")


class _BadNumber(ValueError):
    pass


def _parse_constant(token: str) -> float:
    raise _BadNumber(f"holds the number {token}, expected finite numbers (glTF JSON has no NaN or Infinity)")


def _parse_float(text: str) -> float:
    x = float(text)
    if not np.isfinite(x):
        raise _BadNumber(f"holds the number {text[:40]}, which overflows a double, expected finite numbers")
    return x


def _parse_int(text: str) -> int:
    if len(text) > 30:
        raise _BadNumber(f"holds an integer of {len(text)} digits, expected a sane number")
    return int(text)


def _where(path: list) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out or "the top level"


def check_numbers(gltf: dict, name: str, limits: GltfLimits) -> None:
    """Walk the JSON (iteratively: no recursion on hostile nesting): depth within
    ``limits.max_depth``; outside ``extras`` every float within ``limits.max_abs_value`` and every
    integer within 2**53. Raises ``ValueError`` naming the first bad value's place."""
    stack: list[tuple[object, list, bool]] = [(gltf, [], False)]
    while stack:
        obj, path, free = stack.pop()
        if len(path) > limits.max_depth:
            raise ValueError(f"{name}: glTF JSON is nested deeper than {limits.max_depth} levels at "
                             f"{_where(path[:4])}..., expected a flat glTF document")
        if isinstance(obj, dict):
            stack.extend((v, path + [k], free or k == "extras") for k, v in obj.items())
        elif isinstance(obj, list):
            stack.extend((v, path + [i], free) for i, v in enumerate(obj))
        elif free or isinstance(obj, (bool, str)) or obj is None:
            continue
        elif isinstance(obj, float) and not abs(obj) <= limits.max_abs_value:
            raise ValueError(f"{name}: {_where(path)} is {obj:g}, expected |x| <= {limits.max_abs_value:g}")
        elif isinstance(obj, int) and abs(obj) > 2**53:
            raise ValueError(f"{name}: {_where(path)} is {obj}, expected an integer below 2**53")


def _local_bound(node: dict) -> tuple[float, float, float]:
    """(largest scale, smallest scale, translation length) of a node's local transform (rotations
    keep lengths). Malformed fields count as identity: the converter reports them."""
    def vec(key: str, n: int) -> np.ndarray | None:
        v = node.get(key)
        ok = isinstance(v, list) and len(v) == n and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        return np.asarray(v, dtype=np.float64) if ok else None
    m = vec("matrix", 16)
    if m is not None:
        m = m.reshape(4, 4).T  # column-major
        sv = np.linalg.svd(m[:3, :3], compute_uv=False)
        return float(sv[0]), float(sv[-1]), float(np.linalg.norm(m[:3, 3]))
    s, t = vec("scale", 3), vec("translation", 3)
    s = np.abs(s) if s is not None else np.ones(3)
    return float(s.max()), float(s.min()), (float(np.linalg.norm(t)) if t is not None else 0.0)


def check_world_transforms(gltf: dict, name: str, limits: GltfLimits) -> None:
    """Compose each node's scale and translation bounds down the hierarchy (parents first; nodes
    in cycles or with bad children are left to the converter's own checks) and refuse world
    transforms scaling beyond ``limits.max_world_scale``, below ``limits.min_world_scale``
    (collapsed: every child on one point) or moving beyond ``limits.max_world_offset``."""
    nodes = gltf.get("nodes")
    if not isinstance(nodes, list):
        return
    n = len(nodes)
    kids: list[list[int]] = [[] for _ in range(n)]
    has_parent = [False] * n
    for i, nd in enumerate(nodes):
        for c in (nd.get("children") or []) if isinstance(nd, dict) else []:
            if isinstance(c, int) and not isinstance(c, bool) and 0 <= c < n and c != i and not has_parent[c]:
                has_parent[c] = True
                kids[i].append(c)
    stack = [(i, 1.0, 1.0, 0.0) for i in range(n) if not has_parent[i]]
    seen = [False] * n
    while stack:
        i, hi, lo, offset = stack.pop()
        if seen[i]:
            continue
        seen[i] = True
        s_hi, s_lo, t = _local_bound(nodes[i]) if isinstance(nodes[i], dict) else (1.0, 1.0, 0.0)
        offset, hi, lo = offset + hi * t, hi * s_hi, lo * s_lo
        if not hi <= limits.max_world_scale:
            raise ValueError(f"{name}: node {i}'s world transform scales by up to {hi:.3g}, expected at most "
                             f"{limits.max_world_scale:g} (absurd scales down the node hierarchy)")
        if not lo >= limits.min_world_scale:
            raise ValueError(f"{name}: node {i}'s world transform scales by as little as {lo:.3g}, expected at least "
                             f"{limits.min_world_scale:g} (a collapsed, singular transform)")
        if not offset <= limits.max_world_offset:
            raise ValueError(f"{name}: node {i}'s world transform moves it up to {offset:.3g} units, expected at most "
                             f"{limits.max_world_offset:g} (absurd translations down the node hierarchy)")
        stack.extend((c, hi, lo, offset) for c in kids[i])


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


def _parse_json(raw: bytes, path: Path, limits: GltfLimits) -> dict:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path.name}: glTF JSON is not UTF-8 text") from None
    try:
        data = json.loads(text, parse_constant=_parse_constant, parse_float=_parse_float, parse_int=_parse_int)
    except _BadNumber as e:
        raise ValueError(f"{path.name}: glTF JSON {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path.name}: glTF JSON error at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise ValueError(f"{path.name}: glTF JSON is nested too deeply to read, expected at most "
                         f"{limits.max_depth} levels") from None
    gltf = _check_json(data, path)
    check_numbers(gltf, path.name, limits)
    check_world_transforms(gltf, path.name, limits)
    return gltf


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
        gltf = _parse_json(head + fh.read(), p, lim)
    doc = GltfDocument(p, gltf, [], "gltf", lim.max_count, lim.max_abs_value)
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
    gltf = _parse_json(fh.read(jlen), p, lim)
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
    doc = GltfDocument(p, gltf, [], "glb", lim.max_count, lim.max_abs_value)
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
