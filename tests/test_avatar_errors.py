"""Malformed avatar files: one-line errors, exit 2 through the CLI, memory bounded; the reader's
accessor decoding against a slow reference."""

import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from kyara.avatar.glb import GltfLimits, read_gltf
from kyara.cli.main import run

CORPUS = Path(__file__).parent / "data" / "avatar_corpus"
MALFORMED = {
    "broken_chunk_length.glb": "broken chunk length",
    "bad_json.glb": "JSON error",
    "accessor_out_of_range.glb": "accessor out of range",
    "index_out_of_range.glb": "accessor out of range",
    "missing_bones.vrm": "missing required bone",
    "not_gltf.glb": "not a glTF binary",
    "truncated.vrm": "truncated or broken",
    "traversal.gltf": "refused",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_one_line_error_exit_2(name, capsys):
    code = run(["inspect", str(CORPUS / name)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert MALFORMED[name] in err and name in err


def test_huge_sparse_file_refused_before_reading(tmp_path):
    big = tmp_path / "huge.vrm"
    with open(big, "wb") as fh:
        fh.write(struct.pack("<III", 0x46546C67, 2, 2 * 2**30))
        fh.truncate(2 * 2**30)  # sparse: 2 GB on paper, nothing on disk
    tracemalloc.start()
    with pytest.raises(ValueError, match="larger than the 512 MB limit"):
        read_gltf(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 2**20
    assert run(["inspect", str(big)]) == 2


def test_glb_whose_bin_chunk_runs_past_the_file_is_refused_without_reading_it(tmp_path):
    good = (CORPUS / "minimal.vrm").read_bytes()
    jlen = struct.unpack_from("<I", good, 12)[0]
    bad = bytearray(good)
    struct.pack_into("<I", bad, 20 + jlen, 2**31)  # BIN chunk length
    p = tmp_path / "bin.glb"
    p.write_bytes(bytes(bad))
    with pytest.raises(ValueError, match="BIN chunk length"):
        read_gltf(p)


def test_size_limit_is_configurable(tmp_path):
    with pytest.raises(ValueError, match="limit"):
        read_gltf(CORPUS / "minimal.vrm", GltfLimits(max_bytes=1000))


def test_gltf_absolute_and_scheme_uris_are_refused(tmp_path):
    import json

    g = json.loads((CORPUS / "mixamo.gltf").read_text())
    for uri in ("/etc/passwd", "file:///etc/passwd", "http://example.com/a.bin"):
        g["buffers"][0]["uri"] = uri
        p = tmp_path / "x.gltf"
        p.write_text(json.dumps(g))
        with pytest.raises(ValueError, match="not a relative file name"):
            read_gltf(p)


def _accessor_reference(doc, index):
    """Slow reference decoder: one element at a time with struct.unpack."""
    from kyara.avatar.glb import _NCOMP

    acc = doc.json["accessors"][index]
    fmt = {5120: "b", 5121: "B", 5122: "h", 5123: "H", 5125: "I", 5126: "f"}[acc["componentType"]]
    k = _NCOMP[acc["type"]]
    bv = doc.json["bufferViews"][acc["bufferView"]]
    data = doc.buffers[bv["buffer"]]
    size = struct.calcsize(fmt)
    stride = bv.get("byteStride") or size * k
    out = []
    for i in range(acc["count"]):
        off = bv.get("byteOffset", 0) + acc.get("byteOffset", 0) + i * stride
        out.append(struct.unpack_from("<" + fmt * k, data, off))
    arr = np.array(out)
    return arr[:, 0] if k == 1 else arr


def test_accessor_decoding_matches_reference_including_strides(tmp_path):
    doc = read_gltf(CORPUS / "minimal.vrm")
    for i in range(len(doc.json["accessors"])):
        np.testing.assert_array_equal(doc.accessor(i, normalize=False), _accessor_reference(doc, i))
    # an interleaved (strided) view: positions every 20 bytes
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(7, 3)).astype(np.float32)
    raw = np.zeros((7, 20), np.uint8)
    raw[:, :12] = pos.view(np.uint8).reshape(7, 12)
    doc.buffers.append(raw.tobytes())
    doc.json["buffers"].append({"byteLength": raw.size})
    doc.json["bufferViews"].append({"buffer": len(doc.buffers) - 1, "byteOffset": 0, "byteLength": raw.size,
                                    "byteStride": 20})
    doc.json["accessors"].append({"bufferView": len(doc.json["bufferViews"]) - 1, "componentType": 5126,
                                  "count": 7, "type": "VEC3"})
    k = len(doc.json["accessors"]) - 1
    np.testing.assert_array_equal(doc.accessor(k), pos)
    np.testing.assert_array_equal(doc.accessor(k), _accessor_reference(doc, k))


def test_inspect_prints_the_report(capsys):
    assert run(["inspect", str(CORPUS / "minimal_0x.vrm")]) == 0
    out = capsys.readouterr().out
    for key in ("format: VRM 0.x", "humanoid bones mapped: 15/55", "meshes: 1", "licence meta", "allowRedistribution"):
        assert key in out


def test_cli_render_and_animate_take_an_avatar(tmp_path, capsys):
    from kyara.errors import RenderBackendError
    from kyara.render.gl import get_context

    try:
        get_context()
    except RenderBackendError as exc:
        pytest.skip(str(exc))
    vrm = str(CORPUS / "minimal.vrm")
    assert run(["render", "--character", vrm, "-o", str(tmp_path / "r"), "--size", "64", "--pose", "jog"]) == 0
    assert (tmp_path / "r" / "front_openpose.json").is_file()
    assert run(["render", "--character", vrm, "-o", str(tmp_path / "r2"), "--heads", "5"]) == 2
    assert run(["turntable", "--character", vrm, "-o", str(tmp_path / "t.gif"), "--size", "48", "--frames", "3"]) == 0
    assert run(["animate", "--character", vrm, "--motion", "jog", "-o", str(tmp_path / "a.gif"), "--size", "48",
                "--fps", "10"]) == 0
    assert os.path.getsize(tmp_path / "a.gif") > 0
    assert run(["render", "--character", str(CORPUS / "bad_json.glb"), "-o", str(tmp_path / "r3")]) == 2
