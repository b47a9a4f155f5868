"""Hostile avatar files: every malformed or absurd number gives exactly one ``error:`` line, exit 2,
no warning lines (numpy's included) and no output file — through ``kyara inspect`` and ``kyara
export``. The files are made here from a valid small avatar, one corruption each; :data:`CASES`
is a module-level list so a corpus-wide test can reuse it."""

from __future__ import annotations

import base64
import json
import math
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from kyara.cli.main import run

BASE = Path(__file__).parent / "data" / "avatar_corpus" / "minimal.vrm"
GLB_MAGIC, CHUNK_JSON, CHUNK_BIN = 0x46546C67, 0x4E4F534A, 0x004E4942


def split_glb(data: bytes) -> tuple[dict, bytes]:
    """A GLB's (JSON, BIN chunk), read with struct only (independent of kyara's reader)."""
    jlen = struct.unpack_from("<I", data, 12)[0]
    g = json.loads(data[20:20 + jlen])
    blen = struct.unpack_from("<I", data, 20 + jlen)[0]
    return g, data[28 + jlen:28 + jlen + blen]


def pack_glb(g: dict | bytes, binary: bytes) -> bytes:
    """GLB container of JSON (a dict, dumped with Python's NaN/Infinity tokens allowed, or raw bytes)."""
    text = g if isinstance(g, bytes) else json.dumps(g).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary = binary + b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return (struct.pack("<III", GLB_MAGIC, 2, total) + struct.pack("<II", len(text), CHUNK_JSON) + text
            + struct.pack("<II", len(binary), CHUNK_BIN) + binary)


def base_parts() -> tuple[dict, bytes]:
    return split_glb(BASE.read_bytes())


def _json_edit(edit: Callable[[dict], None]) -> Callable[[], bytes]:
    def make() -> bytes:
        g, b = base_parts()
        edit(g)
        return pack_glb(g, b)
    return make


def _bin_edit(accessor: int, element: int, values: list[float]) -> Callable[[], bytes]:
    """Overwrite float32 components of ``accessor`` from component ``element`` on."""
    def make() -> bytes:
        g, b = base_parts()
        acc = g["accessors"][accessor]
        view = g["bufferViews"][acc["bufferView"]]
        off = view.get("byteOffset", 0) + acc.get("byteOffset", 0) + 4 * element
        buf = bytearray(b)
        struct.pack_into(f"<{len(values)}f", buf, off, *values)
        return pack_glb(g, bytes(buf))
    return make


def _set(path: str, value) -> Callable[[dict], None]:
    """Edit ``g`` at a dotted path such as ``nodes.1.translation`` (list indices are numbers)."""
    def edit(g: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        obj = g
        for k in keys[:-1]:
            obj = obj[k]
        obj[keys[-1]] = value
    return edit


def _mesh_node(g: dict) -> int:
    return next(i for i, n in enumerate(g["nodes"]) if "mesh" in n)


def _add_expression(weight) -> Callable[[dict], None]:
    def edit(g: dict) -> None:
        g["extensions"]["VRMC_vrm"]["expressions"] = {
            "preset": {"happy": {"morphTargetBinds": [{"node": _mesh_node(g), "index": 0, "weight": weight}]}}}
    return edit


def _add_spring(stiffness) -> Callable[[dict], None]:
    def edit(g: dict) -> None:
        g.setdefault("extensions", {})["VRMC_springBone"] = {
            "specVersion": "1.0", "springs": [{"name": "tail", "joints": [{"node": 1, "stiffness": stiffness},
                                                                          {"node": 2}]}]}
        g["extensionsUsed"] = sorted(set(g.get("extensionsUsed", [])) | {"VRMC_springBone"})
    return edit


def _scale_chain(g: dict) -> None:
    for i in (0, 1, 2):  # each scale alone is large but finite; their product overflows float32
        g["nodes"][i]["scale"] = [1e5, 1e5, 1e5]


def _deep_json() -> bytes:
    g, b = base_parts()
    text = json.dumps(g).encode()
    deep = b"[" * 200_000 + b"]" * 200_000
    text = text[:-1] + b', "extras": ' + deep + b"}"
    return pack_glb(text, b)


def _non_utf8_json() -> bytes:
    g, b = base_parts()
    g["asset"]["generator"] = "GENERATOR"
    text = json.dumps(g).encode().replace(b"GENERATOR", b"\xff\xfe\xc3\x28")
    return pack_glb(text, b)


def _raw_json(text_edit: Callable[[bytes], bytes]) -> Callable[[], bytes]:
    def make() -> bytes:
        g, b = base_parts()
        return pack_glb(text_edit(json.dumps(g).encode()), b)
    return make


def _huge_int_translation() -> bytes:
    g, b = base_parts()
    g["nodes"][1]["translation"] = ["HUGE", 0, 0]
    text = json.dumps(g).encode().replace(b'"HUGE"', b"1" + b"0" * 400)
    return pack_glb(text, b)


def _truncated_bin() -> bytes:
    data = BASE.read_bytes()
    cut = data[:-1000]
    return struct.pack("<III", GLB_MAGIC, 2, len(cut)) + cut[12:]  # header agrees, the BIN chunk is short


def _bad_magic() -> bytes:
    return b"gLTF" + BASE.read_bytes()[4:]


def _json_chunk_too_long() -> bytes:
    data = bytearray(BASE.read_bytes())
    struct.pack_into("<I", data, 12, len(data))
    return bytes(data)


def _header_size_huge() -> bytes:
    data = bytearray(BASE.read_bytes())
    struct.pack_into("<I", data, 8, 0xFFFFFFF0)  # 4 GB declared, 9 kB present
    return bytes(data)


def _bin_chunk_huge() -> bytes:
    data = bytearray(BASE.read_bytes())
    jlen = struct.unpack_from("<I", data, 12)[0]
    struct.pack_into("<I", data, 20 + jlen, 0x7FFFFFF0)
    return bytes(data)


def _zero_accessor_huge(g: dict) -> None:
    # no bufferView: a reader would allocate count x 64 bytes of zeros before seeing any data
    g["accessors"][4] = {"componentType": 5126, "count": 40_000_000, "type": "MAT4"}


def _gltf_with_nan() -> bytes:
    g, b = base_parts()
    g["buffers"] = [{"byteLength": len(b), "uri": "data:application/octet-stream;base64," + base64.b64encode(b).decode()}]
    g["nodes"][2]["translation"] = [0.0, float("nan"), 0.0]
    return json.dumps(g).encode()


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], bytes]  # the file's bytes
    needle: str  # a word the one error line must hold
    suffix: str = ".vrm"


CASES: list[Case] = [
    Case("translation_1e308", _json_edit(_set("nodes.1.translation", [1e308, 0.0, 0.0])), "translation"),
    Case("translation_nan_token", _json_edit(_set("nodes.1.translation", [float("nan"), 0.0, 0.0])), "NaN"),
    Case("rotation_infinity_token", _json_edit(_set("nodes.2.rotation", [0.0, float("inf"), 0.0, 1.0])), "Infinity"),
    Case("scale_1e308", _json_edit(_set("nodes.3.scale", [1e308, 1.0, 1.0])), "scale"),
    Case("matrix_minus_1e300", _json_edit(_set("nodes.4.matrix", [1.0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, -1e300, 0, 0, 1])),
         "matrix"),
    Case("float_overflowing_to_inf", _raw_json(lambda t: t.replace(b'"translation": [0.0, 0.6, 0.0]',
                                                                     b'"translation": [0.0, 1e400, 0.0]')), "1e400"),
    Case("integer_with_400_digits", _huge_int_translation, "digits"),
    Case("world_scale_overflows", _json_edit(_scale_chain), "world transform"),
    Case("scale_zero_collapses_the_legs", _json_edit(_set("nodes.3.scale", [0.0, 0.0, 0.0])), "collapsed"),
    Case("matrix_all_zero", _json_edit(_set("nodes.4.matrix", [0.0] * 16)), "collapsed"),
    Case("position_inf", _bin_edit(0, 4, [math.inf]), "accessor 0"),
    Case("position_nan", _bin_edit(0, 0, [math.nan, math.nan, math.nan]), "accessor 0"),
    Case("position_3e38", _bin_edit(0, 7, [3e38]), "accessor 0"),
    Case("weights_nan", _bin_edit(2, 0, [math.nan]), "accessor 2"),
    Case("inverse_bind_nan", _bin_edit(4, 12, [math.nan]), "accessor 4"),
    Case("inverse_bind_1e38", _bin_edit(4, 0, [1e38, 1e38, 1e38]), "accessor 4"),
    Case("accessor_min_1e308", _json_edit(_set("accessors.0.min", [-1e308, 0.0, 0.0])), "min"),
    Case("morph_weight_1e308", _json_edit(_set("meshes.0.weights", [1e308])), "weights"),
    Case("expression_weight_1e308", _json_edit(_add_expression(1e308)), "weight"),
    Case("expression_weight_text", _json_edit(_add_expression("heavy")), "weight"),
    Case("spring_stiffness_1e308", _json_edit(_add_spring(1e308)), "stiffness"),
    Case("colour_factor_1e308", _json_edit(_set("materials.0.pbrMetallicRoughness.baseColorFactor", [1e308, 0, 0, 1])),
         "baseColorFactor"),
    Case("accessor_count_huge", _json_edit(_set("accessors.0.count", 2**40)), "count"),
    Case("zero_accessor_allocation", _json_edit(_zero_accessor_huge), "accessor 4"),
    Case("bufferview_out_of_range", _json_edit(_set("bufferViews.2.byteOffset", 10**6)), "bufferView 2"),
    Case("negative_accessor_index", _json_edit(_set("meshes.0.primitives.0.attributes.POSITION", -1)), "accessor"),
    Case("negative_byte_offset", _json_edit(_set("bufferViews.0.byteOffset", -16)), "byteOffset"),
    Case("truncated_bin_chunk", _truncated_bin, "BIN chunk"),
    Case("bad_magic", _bad_magic, "magic"),
    Case("json_chunk_length_wrong", _json_chunk_too_long, "chunk length"),
    Case("header_declares_4gb", _header_size_huge, "header says"),
    Case("bin_chunk_declares_2gb", _bin_chunk_huge, "BIN chunk length"),
    Case("json_nested_200k_deep", _deep_json, "nested"),
    Case("json_not_utf8", _non_utf8_json, "UTF-8"),
    Case("gltf_nan_token", _gltf_with_nan, "NaN", ".gltf"),
]


def test_the_base_file_is_valid(tmp_path, capsys):
    """The uncorrupted file passes both commands (so each case fails because of its corruption)."""
    src = tmp_path / "ok.vrm"
    src.write_bytes(pack_glb(*base_parts()))
    assert run(["inspect", str(src)]) == 0
    out = tmp_path / "ok.glb"
    assert run(["export", str(src), "--format", "glb", "-o", str(out), "--i-own-this-avatar"]) == 0
    capsys.readouterr()
    assert out.is_file()


def _one_error_line(err: str, case: Case) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, f"{case.name}: expected one line, got {len(lines)}:\n{err[:2000]}"
    line = lines[0]
    assert line.startswith("error: ") and "internal error" not in line and "Traceback" not in line, line
    assert case.needle.lower() in line.lower(), f"{case.name}: '{case.needle}' not in {line!r}"
    return line


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("command", ["inspect", "export-glb", "export-vrm"])
def test_hostile_file_one_error_line_exit_2_no_output(case, command, tmp_path, capsys):
    src = tmp_path / f"{case.name}{case.suffix}"
    src.write_bytes(case.make())
    out = tmp_path / "out" / ("x.glb" if command == "export-glb" else "x.vrm")
    out.parent.mkdir()
    argv = {"inspect": ["inspect", str(src)],
            "export-glb": ["export", str(src), "--format", "glb", "-o", str(out), "--i-own-this-avatar"],
            "export-vrm": ["export", str(src), "--format", "vrm", "-o", str(out), "--i-own-this-avatar"]}[command]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would be a line on stderr for the user
        code = run(argv)
    captured = capsys.readouterr()
    assert code == 2, f"{case.name}: exit {code}\n{captured.err[:2000]}"
    _one_error_line(captured.err, case)
    assert captured.out == "" or command == "inspect" and captured.out.count("\n") == 0
    assert list(out.parent.iterdir()) == []  # no output file, no temporary left behind


def test_cases_cover_the_issue_list():
    names = {c.name for c in CASES}
    assert len(CASES) >= 15 and len(names) == len(CASES)
    for word in ("1e308", "nan", "truncated", "magic", "chunk_length", "nested", "count", "bufferview", "negative",
                 "utf8"):
        assert any(word in n for n in names), word


def test_writer_refuses_non_finite_numbers():
    """The final guard of the glTF writer: no written file ever holds NaN or Infinity."""
    from kyara.export.gltf import FLOAT, GlbBuilder

    b = GlbBuilder()
    b.add_node({"name": "n", "translation": [0.0, float("nan"), 0.0]})
    with pytest.raises(ValueError, match="not finite"):
        b.to_bytes()
    b = GlbBuilder()
    with pytest.raises(ValueError, match="not finite"):
        b.add_accessor(np.array([[0.0, np.inf, 0.0]]), "VEC3", FLOAT)
    ok = GlbBuilder()
    ok.add_node({"name": "n", "translation": [0.0, 1.0, 0.0]})
    g, _ = split_glb(ok.to_bytes() + b"\0" * 8)
    assert g["nodes"][0]["translation"] == [0.0, 1.0, 0.0]
