"""Malformed input files, by class: the bytes behind tests/test_malformed_corpus.py.

Each list holds ``(name, the user's file name, make() -> bytes, needle)``; the needle is a regular
expression (case-insensitive) the one error line must match. Files are made from valid ones (a
small AMASS motion, a PNG of noise, a parsed character spec, a job PNG), one corruption each.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

SESSION: list[Path] = []  # the corpus's session folder (set by its fixture): payload targets, helper files


def session_dir() -> Path:
    assert SESSION, "the corpus_dir fixture sets the session folder"
    return SESSION[0]


# -- NPZ (SMPL motions: AMASS and AIST++ layouts) ------------------------------------------------------
def _npz(compressed: bool = False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def _amass(**over) -> bytes:
    arrays = {"poses": np.zeros((4, 72)), "trans": np.zeros((4, 3)), "mocap_framerate": np.array(60.0)}
    arrays.update(over)
    return _npz(**{k: v for k, v in arrays.items() if v is not None})


def _aist(**over) -> bytes:
    arrays = {"smpl_poses": np.zeros((4, 72)), "smpl_trans": np.zeros((4, 3)), "smpl_scaling": np.array([1.0])}
    arrays.update(over)
    return _npz(**{k: v for k, v in arrays.items() if v is not None})


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


def _npy_header(shape: tuple, dtype: str = "<f8") -> bytes:
    """An .npy file holding only its header (and 16 bytes): the shape it declares is a lie."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(16)


def _patched_zip(data: bytes, edit: Callable[[bytearray, int, int], None]) -> bytes:
    """``data`` with ``edit(buf, local_header_offset, central_header_offset)`` applied to its first member."""
    buf = bytearray(data)
    edit(buf, buf.find(b"PK\x03\x04"), buf.find(b"PK\x01\x02"))
    return bytes(buf)


def _declares_2gb(buf: bytearray, local: int, central: int) -> None:
    struct.pack_into("<I", buf, local + 22, 2**31)  # uncompressed size
    struct.pack_into("<I", buf, central + 24, 2**31)


def _encrypted(buf: bytearray, local: int, central: int) -> None:
    buf[local + 6] |= 1  # general purpose flag bit 0: encrypted
    buf[central + 8] |= 1


def _unknown_method(buf: bytearray, local: int, central: int) -> None:
    struct.pack_into("<H", buf, local + 8, 99)  # compression method 99 (AES, not in zipfile)
    struct.pack_into("<H", buf, central + 10, 99)


NOT_READABLE = r"not a readable numpy \.npz|not a numpy \.npz"
NPZ = [
    ("not_a_zip", "dance.npz", lambda: b"this is not an npz archive\n" * 4, NOT_READABLE),
    ("empty_file", "dance.npz", lambda: b"", NOT_READABLE + "|is empty"),
    ("truncated_zip", "dance.npz", lambda: _amass()[: len(_amass()) // 2], NOT_READABLE),
    ("empty_zip", "dance.npz", lambda: _zip({}), "empty archive|not a readable"),
    ("member_not_npy", "dance.npz", lambda: _zip({"readme.txt": b"hello"}), r"holds 'readme\.txt'"),
    ("npy_without_header", "dance.npz", lambda: _zip({"poses.npy": b"hello, not an array"}), "no valid \\.npy header"),
    ("pickled_objects", "dance.npz", lambda: _amass(poses=np.array([{"a": 1}] * 4, dtype=object)), "python objects"),
    ("shape_lies", "dance.npz", lambda: _zip({"poses.npy": _npy_header((10**12, 72))}), "declares shape"),
    ("declares_2gb", "dance.npz", lambda: _patched_zip(_amass(), _declares_2gb), "bytes uncompressed"),
    ("encrypted_member", "dance.npz", lambda: _patched_zip(_amass(), _encrypted), "encrypted|not a readable"),
    ("unknown_compression", "dance.npz", lambda: _patched_zip(_amass(), _unknown_method), "compression|not a readable"),
    ("no_poses", "dance.npz", lambda: _amass(poses=None), "no key 'poses'"),
    ("no_trans", "dance.npz", lambda: _amass(trans=None), "no key 'trans'"),
    ("no_frame_rate", "dance.npz", lambda: _amass(mocap_framerate=None), "no key 'mocap_frame_rate'"),
    ("poses_width_70", "dance.npz", lambda: _amass(poses=np.zeros((4, 70))), r"poses have shape \(4, 70\)"),
    ("poses_3d", "dance.npz", lambda: _amass(poses=np.zeros((4, 24, 3))), r"poses have shape \(4, 24, 3\)"),
    ("zero_frames", "dance.npz", lambda: _amass(poses=np.zeros((0, 72)), trans=np.zeros((0, 3))), "zero frames"),
    ("too_many_frames", "dance.npz", lambda: _npz(True, poses=np.zeros((100_001, 72), np.float16),
                                                 trans=np.zeros((100_001, 3), np.float16),
                                                 mocap_framerate=np.array(60.0)), "100001 frames"),
    ("trans_mismatch", "dance.npz", lambda: _amass(trans=np.zeros((3, 3))), "translation has shape"),
    ("nan_pose", "dance.npz", lambda: _amass(poses=np.full((4, 72), np.nan)), "'poses' is nan at frame 0"),
    ("inf_trans", "dance.npz", lambda: _amass(trans=np.array([[0, 0, 0]] * 3 + [[0, np.inf, 0]])), "'trans' is inf at frame 3"),
    ("huge_trans", "dance.npz", lambda: _amass(trans=np.full((4, 3), 1e300)), "within"),
    ("huge_angle", "dance.npz", lambda: _amass(poses=np.full((4, 72), 1e6)), "within"),
    ("frame_rate_zero", "dance.npz", lambda: _amass(mocap_framerate=np.array(0.0)), "frame rate 0 is not valid"),
    ("frame_rate_nan", "dance.npz", lambda: _amass(mocap_framerate=np.array(np.nan)), "frame rate nan"),
    ("frame_rate_1e9", "dance.npz", lambda: _amass(mocap_framerate=np.array(1e9)), "frame rate 1e\\+09"),
    ("frame_rate_two", "dance.npz", lambda: _amass(mocap_framerate=np.array([30.0, 60.0])), "holds 2 numbers"),
    ("frame_rate_text", "dance.npz", lambda: _amass(mocap_framerate=np.array("sixty")), "dtype <U5"),
    ("poses_text", "dance.npz", lambda: _amass(poses=np.full((4, 72), "a")), "dtype <U1"),
    ("poses_complex", "dance.npz", lambda: _amass(poses=np.zeros((4, 72), complex)), "dtype complex128"),
    ("aist_scaling_zero", "dance.npz", lambda: _aist(smpl_scaling=np.array([0.0])), "smpl_scaling"),
    ("aist_scaling_pair", "dance.npz", lambda: _aist(smpl_scaling=np.array([1.0, 2.0])), "smpl_scaling"),
    ("aist_no_trans", "dance.npz", lambda: _aist(smpl_trans=None), "no key 'smpl_trans'"),
]


# -- images ----------------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_declaring(w: int, h: int, colour_type: int = 2, depth: int = 8, text: bytes = b"") -> bytes:
    """A PNG of a few hundred bytes whose header declares ``w`` x ``h`` pixels."""
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + text + _chunk(b"IDAT", zlib.compress(bytes(4096)))
            + _chunk(b"IEND", b""))


def noise(size=(64, 64), mode="RGB") -> np.ndarray:
    chans = {"RGB": 3, "CMYK": 4}[mode]
    return np.random.default_rng(0).integers(0, 256, (size[1], size[0], chans), dtype=np.uint8)


def _encoded(fmt: str, mode: str = "RGB", **kw) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(noise(mode=mode), mode).save(buf, fmt, **kw)
    return buf.getvalue()


def _patch(data: bytes, marker: bytes, offset: int, value: bytes) -> bytes:
    i = data.index(marker) + offset
    return data[:i] + value + data[i + len(value):]


def _jpeg_bomb() -> bytes:  # SOF0: FF C0, length, precision, height, width
    return _patch(_encoded("JPEG"), b"\xff\xc0", 5, struct.pack(">HH", 65000, 65000))


def _webp_bomb() -> bytes:  # VP8L: signature 0x2f, then 14 bits width-1 and 14 bits height-1
    data = bytearray(_encoded("WEBP", lossless=True))
    i = data.index(b"VP8L") + 9
    bits = int.from_bytes(data[i:i + 4], "little")
    bits = (bits & ~((1 << 28) - 1)) | 16383 | (16383 << 14)
    data[i:i + 4] = bits.to_bytes(4, "little")
    return bytes(data)


def _bmp_bomb() -> bytes:
    header = struct.pack("<2sIHHI", b"BM", 54 + 16, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 24, 0, 16, 2835, 2835, 0, 0)
    return header + info + bytes(16)


def _bad_crc() -> bytes:
    data = bytearray(_encoded("PNG"))
    i = data.index(b"IDAT") + 20
    data[i] ^= 0xFF
    return bytes(data)


BOMB = r"decompression bomb|refused before decoding"
CORRUPT = r"corrupt image"
NOT_IMAGE = r"is not a (png|PNG)"
IMAGES = [
    ("png_100000x100000", "photo.png", lambda: _png_declaring(100_000, 100_000), BOMB),
    ("png_20000x20000", "photo.png", lambda: _png_declaring(20_000, 20_000), BOMB),
    ("png_10000x10000", "photo.png", lambda: _png_declaring(10_000, 10_000), BOMB),
    ("png_9000x8000", "photo.png", lambda: _png_declaring(9_000, 8_000), BOMB),
    ("png_1x70000000", "photo.png", lambda: _png_declaring(1, 70_000_000), BOMB),
    ("jpeg_65000x65000", "photo.jpg", _jpeg_bomb, BOMB),
    ("webp_16384x16384", "photo.webp", _webp_bomb, BOMB + "|" + CORRUPT),
    ("bmp_30000x30000", "photo.bmp", _bmp_bomb, BOMB + "|has type"),
    ("png_truncated", "photo.png", lambda: _encoded("PNG")[:3000], CORRUPT),
    ("png_header_only", "photo.png", lambda: _encoded("PNG")[:33], CORRUPT),
    ("png_bad_crc", "photo.png", _bad_crc, CORRUPT),
    ("png_zero_width", "photo.png", lambda: _png_declaring(0, 64), CORRUPT + "|" + NOT_IMAGE),
    ("png_colour_type_5", "photo.png", lambda: _png_declaring(64, 64, colour_type=5), CORRUPT + "|" + NOT_IMAGE),
    ("png_16bit_truncated", "photo.png", lambda: _encoded("PNG")[:2000].replace(b"\x08\x02", b"\x10\x02", 1), CORRUPT),
    ("jpeg_truncated", "photo.jpg", lambda: _encoded("JPEG", quality=95)[:4000], CORRUPT),
    ("jpeg_cmyk_truncated", "photo.jpg", lambda: _encoded("JPEG", "CMYK")[:3000], CORRUPT),
    ("jpeg_marker_only", "photo.jpg", lambda: b"\xff\xd8\xff\xe0" + bytes(60), CORRUPT),
    ("text_named_png", "photo.png", lambda: b"just some text, not a picture\n", NOT_IMAGE),
    ("empty_png", "photo.png", lambda: b"", NOT_IMAGE + "|is empty"),
    ("eps_named_png", "photo.png", lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", NOT_IMAGE),
    ("svg_named_png", "photo.png", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', NOT_IMAGE),
    ("pdf_named_jpg", "photo.jpg", lambda: b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", NOT_IMAGE),
]


# -- YAML bone mappings ------------------------------------------------------------------------------
def _laughs(levels: int, first: bool) -> bytes:
    """Anchors and aliases: each level 9 times the one before ("billion laughs" at 9 levels).
    ``first``: the biggest value under the first key, where a reader looks first."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijk"[:levels]
    for prev, cur in zip(names, names[1:]):
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    if first:
        return ("all: [" + ", ".join(f"&{n} " + ("[lol, lol, lol, lol, lol, lol, lol, lol, lol]" if i == 0 else
                                                  "[" + ", ".join(["*" + names[i - 1]] * 9) + "]")
                                      for i, n in enumerate(names)) + "]\n").encode()
    return ("\n".join(lines) + "\n").encode()


CANARY = "kyara-corpus-canary"  # a file the python-tag payloads would create; it must never exist


def _python_tag(payload: str) -> Callable[[], bytes]:
    return lambda: payload.replace("CANARY", str(session_dir() / CANARY)).encode()


NOT_YAML = "not valid yaml"
YAML = [
    ("syntax_error", "map.yaml", lambda: b"Hips: [hips\n", NOT_YAML),
    ("tab_indent", "map.yaml", lambda: b"Hips:\n\tSpine: spine\n", NOT_YAML),
    ("top_level_list", "map.yaml", lambda: b"- Hips\n- Spine\n", "is a list"),
    ("top_level_text", "map.yaml", lambda: b"just words\n", "is a str"),
    ("empty", "map.yaml", lambda: b"", "expected a yaml mapping"),
    ("python_object_apply", "map.yaml", _python_tag("!!python/object/apply:os.system ['touch CANARY']\n"), NOT_YAML),
    ("python_object_new", "map.yaml", _python_tag("Hips: !!python/object/new:subprocess.Popen [[touch, CANARY]]\n"),
     NOT_YAML),
    ("python_name", "map.yaml", lambda: b"Hips: !!python/name:os.system\n", NOT_YAML),
    ("unknown_bone", "map.yaml", lambda: b"Hips: leftWing\n", "not a vrm humanoid bone"),
    ("bone_is_number", "map.yaml", lambda: b"Hips: 42\n", "not a vrm bone name"),
    ("bone_is_binary", "map.yaml", lambda: b"Hips: !!binary aGVsbG8=\n", "not a vrm bone name"),
    ("bone_is_date", "map.yaml", lambda: b"Hips: 2001-12-14\n", "not a vrm bone name"),
    ("unhashable_key", "map.yaml", lambda: b"? [a, b]\n: hips\n", NOT_YAML),
    ("unknown_joint", "map.yaml", lambda: b"NoSuchJoint: hips\n", "nosuchjoint"),
    ("null_key", "map.yaml", lambda: b"~: hips\n", "joint 'none'|key None is not a joint"),
    ("not_utf8", "map.yaml", lambda: b"Hips: \xff\xfe hips\n", "utf-8"),
    ("laughs_small", "map.yaml", lambda: _laughs(9, False), "not a vrm bone name"),
    ("laughs_first_key", "map.yaml", lambda: _laughs(6, True), "not a vrm bone name"),
    ("deep_nesting", "map.yaml", lambda: b"[" * 700 + b"]" * 700, "nested|not valid yaml"),
]



# -- character specs (character.json) ----------------------------------------------------------------
@lru_cache(maxsize=1)
def _base_spec() -> dict:
    from kyara.character.parser import parse_prompt

    return parse_prompt("an anime girl in a kimono with a ribbon", seed=0).to_dict()


def _spec(edit: Callable[[dict], object] | None = None, raw: Callable[[str], str] | None = None) -> Callable[[], bytes]:
    def make() -> bytes:
        d = json.loads(json.dumps(_base_spec()))
        if edit is not None:
            edit(d)
        text = json.dumps(d, indent=2)
        return (raw(text) if raw is not None else text).encode("utf-8")
    return make


def _set(path: str, value) -> Callable[[dict], None]:
    def edit(d: dict) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return edit


def _drop(key: str) -> Callable[[dict], None]:
    return lambda d: d.pop(key)


def _two_tops(d: dict) -> None:
    d["outfit"] = [{"kind": "t-shirt", "colour": "white"}, {"kind": "hoodie", "colour": "grey"}]


SPECS = [
    ("not_json", "character.json", lambda: b"{prompt: 'a girl'", "not valid json"),
    ("empty", "character.json", lambda: b"", "not valid json|is empty"),
    ("top_level_list", "character.json", lambda: b"[1, 2, 3]", "expected a json object"),
    ("version_2", "character.json", _spec(_set("version", 2)), "version: expected an integer 1..1"),
    ("version_text", "character.json", _spec(_set("version", "1")), "version"),
    ("unknown_key", "character.json", _spec(_set("wings", True)), "wings: unknown field"),
    ("missing_hair", "character.json", _spec(_drop("hair")), "hair: missing field"),
    ("seed_negative", "character.json", _spec(_set("seed", -1)), "seed"),
    ("seed_float", "character.json", _spec(_set("seed", 1e30)), "seed"),
    ("seed_2_to_the_100", "character.json", _spec(_set("seed", 2**100)), "seed"),
    ("heads_nan", "character.json", _spec(raw=lambda t: t.replace('"preset": "teen-girl"',
                                                                  '"preset": "teen-girl", "heads_tall": NaN')), "nan"),
    ("heads_1e308", "character.json", _spec(_set("body.heads_tall", 1e308)), "heads_tall"),
    ("infinity", "character.json", _spec(raw=lambda t: t.replace('"seed": 0', '"seed": Infinity')), "infinity"),
    ("height_text", "character.json", _spec(_set("body.height", "tall")), "body.height"),
    ("deep_nesting", "character.json", _spec(raw=lambda t: t.replace('"notes": []', '"notes": ' + "[" * 100_000
                                                                     + "]" * 100_000)), "nested too deeply"),
    ("duplicate_key", "character.json", _spec(raw=lambda t: t.replace('"seed": 0', '"seed": 0, "seed": 1')), "twice"),
    ("outfit_not_list", "character.json", _spec(_set("outfit", {"kind": "kimono"})), "outfit"),
    ("outfit_unknown_kind", "character.json", _spec(_set("outfit.0.kind", "jetpack")), r"outfit\[0\]\.kind"),
    ("two_tops", "character.json", _spec(_two_tops), "slot"),
    ("colour_bad_hex", "character.json", _spec(_set("eye_colour", "#zzzzzz")), "eye_colour"),
    ("colour_number", "character.json", _spec(_set("skin_tone", 42)), "skin_tone"),
    ("pose_hint_unknown", "character.json", _spec(_set("pose_hint", "moonwalk")), "pose_hint"),
    ("expression_number", "character.json", _spec(_set("expression", 3)), "expression"),
    ("preset_unknown", "character.json", _spec(_set("body.preset", "giant")), "body.preset"),
    ("unparsed_numbers", "character.json", _spec(_set("unparsed", [1, 2])), r"unparsed\[0\]"),
    ("digits_5000", "character.json", _spec(raw=lambda t: t.replace('"seed": 0', '"seed": ' + "7" * 5000)), "digits"),
    ("megabytes", "character.json", _spec(raw=lambda t: t.replace('"notes": []', '"notes": ["' + "x" * 5_000_000 + '"]')),
     "at most 1000000"),
    ("not_utf8", "character.json", lambda: _spec()().replace(b'"notes": []', b'"notes": ["caf\xe9"]'),
     "utf-8|not valid json"),
]


# -- job files (kyara image --from: the PNG's "kyara" JSON or AUTOMATIC1111 "parameters") ------------
def _job(kyara: str | None = None, parameters: str | None = None, ztxt: bytes | None = None) -> Callable[[], bytes]:
    def make() -> bytes:
        text = b""
        if kyara is not None:
            text += _chunk(b"iTXt", b"kyara\x00\x00\x00\x00\x00" + kyara.encode("utf-8"))
        if parameters is not None:
            text += _chunk(b"tEXt", b"parameters\x00" + parameters.encode("latin-1"))
        if ztxt is not None:
            text += _chunk(b"zTXt", b"kyara\x00\x00" + zlib.compress(ztxt, 9))
        return _png_declaring(8, 8, text=text)
    return make


def _pickle_file() -> Path:
    """An existing ``.ckpt`` (its bytes never read: the refusal comes first)."""
    p = session_dir() / "evil.ckpt"
    p.write_bytes(b"not really a pickle")
    return p


def _kyara(**fields) -> str:
    return json.dumps({"prompt": "a girl", **fields})


JOBS = [
    ("no_text", "job.png", _job(), "no 'kyara' or 'parameters'"),
    ("kyara_not_json", "job.png", _job("{steps: 3"), "malformed 'kyara' chunk"),
    ("kyara_list", "job.png", _job("[1, 2]"), "expected a json object"),
    ("kyara_unknown_field", "job.png", _job(_kyara(wings=1)), "unknown field"),
    ("kyara_no_prompt", "job.png", _job('{"steps": 3}'), "no 'prompt'"),
    ("kyara_steps_text", "job.png", _job(_kyara(steps="thirty")), "steps is \"thirty\""),
    ("kyara_nan", "job.png", _job('{"prompt": "a", "guidance": NaN}'), "nan"),
    ("kyara_deep", "job.png", _job("[" * 100_000 + "]" * 100_000), "nested too deeply"),
    ("kyara_5000_digits", "job.png", _job('{"prompt": "a", "seed": ' + "9" * 5000 + "}"), "digits"),
    ("kyara_controlnets_number", "job.png", _job(_kyara(controlnets=5)), "controlnets is 5"),
    ("kyara_controlnet_no_model", "job.png", _job(_kyara(controlnets=[{"kind": "openpose"}])), "no 'model'"),
    ("kyara_control_image_single", "job.png", _job(_kyara(control_images=[[1]])), r"control_images\[0\]"),
    ("kyara_embeddings_text", "job.png", _job(_kyara(embeddings="x.safetensors")), "embeddings"),
    ("kyara_pose_json_number", "job.png", _job(_kyara(pose_json=5)), "pose_json is 5"),
    ("kyara_scheduler_number", "job.png", _job(_kyara(scheduler=5)), "scheduler is 5"),
    ("kyara_prompt_object", "job.png", _job('{"prompt": {"a": 1}}'), "prompt is dict"),
    ("kyara_width_huge", "job.png", _job(_kyara(width=10**9)), "width"),
    ("kyara_seed_negative", "job.png", _job(_kyara(seed=-1)), "seed"),
    ("kyara_allow_pickle", "job.png", lambda: _job(_kyara(model=str(_pickle_file()), allow_pickle=True))(),
     r"evil\.ckpt' is a pickle"),
    ("parameters_empty", "job.png", _job(parameters=""), "empty"),
    ("parameters_bad_steps", "job.png", _job(parameters="a girl\nSteps: many, Seed: 1"), "malformed number"),
    ("parameters_bad_size", "job.png", _job(parameters="a girl\nSteps: 20, Size: 512"), "malformed number"),
    ("parameters_steps_huge", "job.png", _job(parameters="a girl\nSteps: 99999"), "steps 99999"),
    ("parameters_lora_weight", "job.png", _job(parameters="a girl <lora:x:99999>\nSteps: 20"), "weight 99999"),
    ("ztxt_bomb", "job.png", _job(ztxt=b" " * 8 * 2**20), "too large|corrupt"),
    ("png_bomb", "job.png", lambda: _png_declaring(100_000, 100_000, text=_chunk(b"tEXt", b"parameters\x00a")), BOMB),
    ("truncated", "job.png", lambda: _encoded("PNG")[:1500], CORRUPT),
    ("jpeg_as_job", "job.png", lambda: _encoded("JPEG"), "no 'kyara' or 'parameters'"),
]


# -- batch job files (kyara batch JOBS.yaml) ------------------------------------------------------------
def _aliased(levels: int) -> str:
    """A flow list of anchored lists, each 9 times the one before (``levels`` 6: half a million items)."""
    names = "abcdefghijk"[:levels]
    return "[" + ", ".join(f"&{n} " + ("[lol, lol, lol, lol, lol, lol, lol, lol, lol]" if i == 0 else
                                        "[" + ", ".join(["*" + names[i - 1]] * 9) + "]")
                           for i, n in enumerate(names)) + "]"


BATCH = [
    ("batch_bad_yaml", "jobs.yaml", lambda: b"jobs: [\n", NOT_YAML),
    ("batch_python_tag", "jobs.yaml", _python_tag("jobs: !!python/object/apply:os.system ['touch CANARY']\n"), NOT_YAML),
    ("batch_no_jobs_key", "jobs.yaml", lambda: b"tasks: []\n", "no 'jobs:'"),
    ("batch_jobs_empty", "jobs.yaml", lambda: b"jobs: []\n", "'jobs' is empty"),
    ("batch_jobs_number", "jobs.yaml", lambda: b"jobs: 5\n", "'jobs' is int"),
    ("batch_unknown_kind", "jobs.yaml", lambda: b"jobs: [{explode: {}}]\n", "unknown kind 'explode'"),
    ("batch_unknown_option", "jobs.yaml", lambda: b"jobs: [{create: {prompt: a, wings: 1}}]\n", "unknown option 'wings'"),
    ("batch_option_nan", "jobs.yaml", lambda: b"jobs: [{image: {prompt: a, guidance: .nan}}]\n", "nan"),
    ("batch_job_is_list", "jobs.yaml", lambda: b"jobs: [[1, 2]]\n", "got list"),
    ("batch_two_kinds", "jobs.yaml", lambda: b"jobs: [{create: {prompt: a}, image: {prompt: b}}]\n", "got 2 keys"),
    ("batch_arguments_list", "jobs.yaml", lambda: b"jobs: [{create: [1, 2]}]\n", "arguments are a list"),
    ("batch_extra_top_key", "jobs.yaml", lambda: b"jobs: [{create: {prompt: a}}]\nmore: 1\n", "unknown top-level"),
    ("batch_over_1mb", "jobs.yaml", lambda: b"jobs: [{create: {prompt: '" + b"x" * 1_100_000 + b"'}}]\n", "bytes"),
    ("batch_not_utf8", "jobs.yaml", lambda: b"jobs: [{create: {prompt: caf\xe9}}]\n", "utf-8"),
    ("batch_laughs_in_option", "jobs.yaml", lambda: ("jobs: [{create: {prompt: " + _aliased(6) + "}}]\n").encode(),
     "'prompt' is"),
    ("batch_deep_nesting", "jobs.yaml", lambda: b"jobs: " + b"[" * 700 + b"]" * 700 + b"\n", "nested|not valid yaml"),
]
