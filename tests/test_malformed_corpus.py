"""The malformed-input corpus (issue 15): broken files of every kind, through every command and the
studio's upload handlers, end the way the CLI's contract says.

CLI: exactly one stderr line ``error: ...`` (no traceback, no warning line, at most
:data:`MAX_LINE` characters), exit code 2, nothing on stdout and nothing new in the output folder.
Studio: one clean line (``error: ...``) that names the user's file (not gradio's temporary path,
not the session folder) and leaves nothing in the session folder.

Classes: BVH, NPZ (SMPL motions), OpenPose JSON, images, avatars (GLB/VRM/glTF), YAML bone
mappings, character specs, job files (``kyara image --from``) and command-line options. The
lists other test files keep are reused, not copied: ``HOSTILE_BVH`` (test_bvh_files.py),
``MALFORMED_OPENPOSE`` (test_openpose_files.py), ``CASES`` (test_avatar_hostile.py) and
``MALFORMED`` (test_avatar_errors.py); the other inputs are made in malformed_inputs.py. Every
input file is written once per session, on first use.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from kyara.cli.main import run
from malformed_inputs import BATCH, CANARY, IMAGES, JOBS, NPZ, SESSION, SPECS, YAML, noise, session_dir

DATA = Path(__file__).parent / "data"
MINIMAL_VRM = DATA / "avatar_corpus" / "minimal.vrm"
MIXAMO_GLTF = DATA / "avatar_corpus" / "mixamo.gltf"
OWN = "--i-own-this-avatar"
MAX_LINE = 1000  # characters: an error line is a sentence, not a dump of the input
CLASSES = ("bvh", "npz", "openpose", "image", "avatar", "yaml", "spec", "job", "options")
UPLOAD_HASH = "9f3c1e7a0b5d2c84"  # gradio keeps each upload in a folder named by a hash
# what check_upload says before any reader runs (then the case's own needle need not be there)
GATE = r"upload '[^']+' (is empty|is not |has type|is missing)"


def _borrow(module: str, name: str) -> list:
    """A module-level case list of another test file; [] while that file does not (yet) have it."""
    try:
        mod = importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a file being written by someone else must not break this one
        return []
    value = getattr(mod, name, None)
    return list(value.items()) if isinstance(value, dict) else list(value or [])


# -- the case type -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    cls: str  # one of CLASSES
    command: str  # a CLI command, or studio.<handler> for the web UI
    name: str
    filename: str | None  # the user's file name; None: the case is its arguments
    make: Callable[[], bytes] | None  # the file's bytes
    needle: str  # regular expression (case-insensitive) the error line must match
    call: Callable  # CLI: (input path, output folder) -> argv; studio: (upload path, workspace) -> None
    xfail: str | None = None  # a known bug in a file another engineer owns

    @property
    def id(self) -> str:
        return f"{self.cls}-{self.command}-{self.name}"

    @property
    def studio(self) -> bool:
        return self.command.startswith("studio.")


CASES: list[Case] = []


def add(cls: str, commands: dict[str, Callable], inputs: list[tuple], only: dict[str, set] | None = None,
        xfails: dict[tuple[str, str], str] | None = None) -> None:
    """One case per (input, command); ``inputs`` are ``(name, filename, make, needle)``; ``only``
    limits a command to some input names; ``xfails`` maps (command, name) to the bug's reason."""
    for command, call in commands.items():
        for name, filename, make, needle in inputs:
            if only and command in only and name not in only[command]:
                continue
            CASES.append(Case(cls, command, name, filename, make, needle, call,
                              (xfails or {}).get((command, name))))


# -- calling the studio's handlers as the page does -------------------------------------------------
def _H():
    from kyara.studio import handlers

    return handlers


def studio_animate(p: Path, ws) -> None:
    _H().animate_clip(ws, "jog", None, "front", 15.0, 64, False, str(p))


def studio_pose_json(p: Path, ws) -> None:
    _H().pose_json_upload(ws, str(p))


def studio_pose_image(p: Path, ws) -> None:
    _H().pose_image_upload(str(p))


def studio_avatar(p: Path, ws) -> None:  # the Export tab's import
    _H().avatar_upload(ws, str(p))


def studio_create_import(p: Path, ws) -> None:  # the Create tab's import (previews after the checks)
    _H().avatar_previews(ws, str(p))


def studio_create_spec(p: Path, ws) -> None:  # the Create tab's "Apply spec" with the edited JSON
    _H().create(ws, None, 0, p.read_bytes().decode("utf-8", "replace"))


# -- BVH -----------------------------------------------------------------------------------------
def _motion_commands() -> dict[str, Callable]:
    return {
        "animate": lambda p, o: ["animate", "--motion", str(p), "--size", "64", "-o", str(o / "a.mp4")],
        "export": lambda p, o: ["export", str(MINIMAL_VRM), OWN, "--format", "vrma", "--motion", str(p),
                                "-o", str(o / "a.vrma")],
        "studio.animate": studio_animate,
    }


def _bvh_inputs() -> list[tuple]:
    hostile = [(n, f"{n}.bvh", make, re.escape(needle)) for n, make, needle in _borrow("test_bvh_files", "HOSTILE_BVH")]
    corpus = DATA / "motion_corpus"
    mine = [(f"corpus_{p.stem}", p.name, (lambda p=p: p.read_bytes()), "") for p in sorted(corpus.glob("*.bvh"))]
    return hostile + mine


_BVH = _bvh_inputs()
# test_bvh_files.py runs every HOSTILE_BVH file through animate: here they go through export and
# the studio; the older motion_corpus files through animate, export, inspect and the studio
add("bvh", _motion_commands(), _BVH, only={"animate": {n for n, *_ in _BVH if n.startswith("corpus_")}})
add("bvh", {"inspect": lambda p, o: ["inspect", str(p)]}, [c for c in _BVH if c[0].startswith("corpus_")
                                                          and c[0] not in ("corpus_unknown_joints",)])

# -- NPZ (SMPL motions), images, YAML, specs and job files: inputs made in malformed_inputs.py ---------
add("npz", _motion_commands(), NPZ)


# -- OpenPose JSON ---------------------------------------------------------------------------------
_OPENPOSE = _borrow("test_openpose_files", "MALFORMED_OPENPOSE")


def _image_pose_json(frame):
    def argv(p, o):
        extra = ["--frame", str(frame)] if frame is not None else []
        return ["image", "a girl", "--model", "tiny", "--pose-json", str(p), *extra, "-o", str(o / "o.png")]
    return argv


for _name, _content, _frame, _expected in _OPENPOSE:
    CASES.append(Case("openpose", "image", _name, "pose.json", (lambda c=_content: c), re.escape(_expected),
                      _image_pose_json(_frame)))
    if _frame is None:
        CASES.append(Case("openpose", "studio.pose_json", _name, "pose.json", (lambda c=_content: c),
                          re.escape(_expected), studio_pose_json))


# -- images ----------------------------------------------------------------------------------------
_IMAGE_ARGV = ["image", "a girl", "--model", "tiny"]
add("image", {
    "image": lambda p, o: [*_IMAGE_ARGV, "--init-image", str(p), "-o", str(o / "o.png")],
    "studio.pose_image": studio_pose_image,
}, IMAGES)
add("image", {  # the same reader behind every image option: a few cases through the other two
    "image-pose": lambda p, o: [*_IMAGE_ARGV, "--pose-image", str(p), "-o", str(o / "o.png")],
    "image-control": lambda p, o: [*_IMAGE_ARGV, "--controlnet", "depth=tiny", "--control-image", f"depth={p}",
                                   "-o", str(o / "o.png")],
}, IMAGES, only={c: {"png_100000x100000", "jpeg_65000x65000", "png_truncated", "eps_named_png"}
                  for c in ("image-pose", "image-control")})


# -- avatars (GLB / VRM / glTF) -----------------------------------------------------------------------
_HOSTILE_AVATARS = [(c.name, f"my_avatar{c.suffix}", c.make, re.escape(c.needle))
                    for c in _borrow("test_avatar_hostile", "CASES")]
_AVATAR_FILES = [(Path(n).stem, n, (lambda n=n: (DATA / "avatar_corpus" / n).read_bytes()), re.escape(needle))
                 for n, needle in _borrow("test_avatar_errors", "MALFORMED")]
# test_avatar_hostile.py runs its CASES through inspect and export: here through render, turntable,
# animate and the studio; test_avatar_errors.py's files through export, turntable, animate and the studio
_CHARACTER_COMMANDS = {
    "render": lambda p, o: ["render", "--character", str(p), "--maps", "openpose", "--size", "64", "-o", str(o / "r")],
    "turntable": lambda p, o: ["turntable", "--character", str(p), "--frames", "2", "--size", "64",
                               "-o", str(o / "t.gif")],
    "animate": lambda p, o: ["animate", "--motion", "walk", "--character", str(p), "--size", "64",
                             "-o", str(o / "a.mp4")],
}
add("avatar", {"render": _CHARACTER_COMMANDS["render"], "studio.avatar": studio_avatar}, _HOSTILE_AVATARS)
add("avatar", {"turntable": _CHARACTER_COMMANDS["turntable"]}, _HOSTILE_AVATARS,
    only={"turntable": {"translation_nan_token", "bad_magic", "truncated_bin_chunk", "json_nested_200k_deep",
                        "accessor_count_huge"}})
add("avatar", {
    "export": lambda p, o: ["export", str(p), OWN, "--format", "glb", "-o", str(o / "x.glb")],
    "turntable": _CHARACTER_COMMANDS["turntable"],
    "animate": _CHARACTER_COMMANDS["animate"],
    "studio.create_import": studio_create_import,
}, _AVATAR_FILES)


# -- YAML bone mappings ------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _walk_bvh() -> Path:
    from kyara.motion.builtin import builtin_text

    p = session_dir() / "walk.bvh"
    p.write_text(builtin_text("walk"))
    return p


_MAPPING_BUG = "kyara/motion/mapping.py (BVH/YAML owner): "
add("yaml", {
    "inspect": lambda p, o: ["inspect", str(MIXAMO_GLTF), "--mapping", str(p)],
    "inspect-bvh": lambda p, o: ["inspect", str(_walk_bvh()), "--mapping", str(p)],
    "animate": lambda p, o: ["animate", "--motion", str(_walk_bvh()), "--mapping", str(p), "--size", "64",
                             "-o", str(o / "a.mp4")],
    "export": lambda p, o: ["export", str(MINIMAL_VRM), OWN, "--format", "vrma", "--motion", str(_walk_bvh()),
                            "--mapping", str(p), "-o", str(o / "a.vrma")],
}, YAML, only={
    "inspect": {n for n, *_ in YAML} - {"deep_nesting"},
    "inspect-bvh": {"syntax_error", "python_object_apply", "unknown_bone", "null_key", "deep_nesting"},
    "animate": {"syntax_error", "python_object_new", "top_level_list", "unknown_joint", "laughs_first_key"},
    "export": {"tab_indent", "python_name", "bone_is_number", "unknown_joint", "empty"},
})


# -- character specs (character.json) ----------------------------------------------------------------
_SPEC_SUBSET = {"not_json", "version_2", "unknown_key", "heads_nan", "deep_nesting", "megabytes"}
_CHARACTER_SPEC_COMMANDS = {
    "create": lambda p, o: ["create", "--spec", str(p), "--size", "64", "--frames", "1", "-o", str(o / "c")],
    "export": lambda p, o: ["export", str(p), "--format", "glb", "-o", str(o / "x.glb")],
    "image": lambda p, o: ["image", "--character", str(p), "--model", "tiny", "-o", str(o / "o.png")],
    **_CHARACTER_COMMANDS,
    "studio.create_spec": studio_create_spec,
    "studio.create_import": studio_create_import,
}
add("spec", _CHARACTER_SPEC_COMMANDS, SPECS, only={
    **{c: _SPEC_SUBSET for c in ("export", "image", "render", "turntable", "animate")},
    "studio.create_spec": {n for n, *_ in SPECS} - {"not_utf8"},  # the page's editor holds text, not bytes
})

# -- job files (kyara image --from; kyara batch) ------------------------------------------------------
add("job", {"image": lambda p, o: ["image", "--from", str(p), "-o", str(o / "o.png")]}, JOBS)


# -- command-line options (the commands that read no file) --------------------------------------------
def _opts(command: str, cases: list[tuple[str, Callable, str]]) -> None:
    for name, argv, needle in cases:
        CASES.append(Case("options", command, name, None, None, needle, argv))


_opts("body", [
    ("param_nan", lambda o: ["body", "--param", "eye_size=nan", "-o", str(o / "b.ply")], "eye_size=nan"),
    ("heads_1e308", lambda o: ["body", "--heads", "1e308", "-o", str(o / "b.ply")], "heads_tall"),
    ("unknown_param", lambda o: ["body", "--param", "wings=1", "-o", str(o / "b.ply")], "wings"),
    ("unknown_preset", lambda o: ["body", "--body", "giant", "-o", str(o / "b.ply")], "giant"),
    ("stl_suffix", lambda o: ["body", "-o", str(o / "b.stl")], r"\.stl"),
    ("param_without_value", lambda o: ["body", "--param", "height", "-o", str(o / "b.ply")], "name=value"),
])
_opts("pose", [
    ("unknown_pose", lambda o: ["pose", "--pose", "moonwalk", "-o", str(o / "p.json")], "moonwalk"),
    ("view_nan", lambda o: ["pose", "--pose", "stand", "--view", "nan", "-o", str(o / "p.json")], "--view"),
    ("size_zero", lambda o: ["pose", "--pose", "stand", "--size", "0", "-o", str(o / "p.json")], "--size"),
    ("heads_negative", lambda o: ["pose", "--pose", "stand", "--heads", "-3", "-o", str(o / "p.json")], "heads"),
    ("png_suffix", lambda o: ["pose", "--pose", "stand", "-o", str(o / "p.png")], r"\.png"),
])
_opts("presets", [
    ("extra_argument", lambda o: ["presets", "extra"], "unexpected extra argument"),
    ("unknown_option", lambda o: ["presets", "--bogus"], "no such option"),
    ("output_option", lambda o: ["presets", "-o", str(o / "x.txt")], "no such option"),
    ("two_extra_arguments", lambda o: ["presets", "a", "b"], "unexpected extra argument"),
    ("help_typo", lambda o: ["presets", "--hepl"], "no such option"),
])
_opts("spec", [
    ("empty_prompt", lambda o: ["spec", "   ", "-o", str(o / "s.json")], "prompt is empty"),
    ("txt_suffix", lambda o: ["spec", "a girl", "-o", str(o / "s.txt")], r"\.txt"),
    ("seed_negative", lambda o: ["spec", "a girl", "--seed", "-1", "-o", str(o / "s.json")], "seed"),
    ("seed_huge", lambda o: ["spec", "a girl", "--seed", "9" * 30, "-o", str(o / "s.json")], "seed"),
    ("prompt_2mb", lambda o: ["spec", "x" * 2_000_000, "-o", str(o / "s.json")], "2000000 characters"),
    ("prompt_nul", lambda o: ["spec", "a\x00girl", "-o", str(o / "s.json")], "control character u\\+0000"),
    ("prompt_escape", lambda o: ["spec", "a girl\x1b[2J", "-o", str(o / "s.json")], "control character u\\+001b"),
])
_opts("studio", [
    ("port_70000", lambda o: ["studio", "--port", "70000", "-o", str(o / "st")], "--port"),
    ("port_negative", lambda o: ["studio", "--port", "-1", "-o", str(o / "st")], "--port"),
    ("host_with_space", lambda o: ["studio", "--host", "bad host", "-o", str(o / "st")], "--host"),
    ("upload_limit_zero", lambda o: ["studio", "--max-upload-mb", "0", "-o", str(o / "st")], "--max-upload-mb"),
    ("upload_limit_nan", lambda o: ["studio", "--max-upload-mb", "nan", "-o", str(o / "st")], "--max-upload-mb"),
    ("output_parent_missing", lambda o: ["studio", "-o", str(o / "no" / "such" / "st")], "does not exist"),
])
_opts("render", [
    ("size_99999", lambda o: ["render", "--size", "99999", "-o", str(o / "r")], "--size"),
    ("unknown_map", lambda o: ["render", "--maps", "xray", "-o", str(o / "r")], "xray"),
    ("elevation_nan", lambda o: ["render", "--elevation", "nan", "-o", str(o / "r")], "--elevation"),
    ("view_inf", lambda o: ["render", "--view", "inf", "-o", str(o / "r")], "--view"),
])
_opts("turntable", [
    ("fps_zero", lambda o: ["turntable", "--fps", "0", "-o", str(o / "t.gif")], "--fps"),
    ("txt_suffix", lambda o: ["turntable", "-o", str(o / "t.txt")], r"\.txt"),
    ("frames_zero", lambda o: ["turntable", "--frames", "0", "-o", str(o / "t.gif")], "--frames"),
])
_opts("create", [
    ("size_zero", lambda o: ["create", "a girl", "--size", "0", "-o", str(o / "c")], "--size"),
    ("no_prompt_no_spec", lambda o: ["create", "-o", str(o / "c")], "either a prompt"),
    ("prompt_control_character", lambda o: ["create", "a\x07girl", "-o", str(o / "c")], "control character"),
])


def _cli_commands() -> list[str]:
    import typer

    from kyara.cli.main import app

    return sorted(typer.main.get_command(app).commands)


if "dataset" in _cli_commands():  # being written: its cases count once the command is there
    _opts("dataset", [
        ("unknown_kind", lambda o: ["dataset", "selfies", "--count", "4", "-o", str(o / "d")], "selfies"),
        ("count_zero", lambda o: ["dataset", "poses", "--count", "0", "-o", str(o / "d")], "--count"),
        ("size_5000", lambda o: ["dataset", "poses", "--count", "4", "--size", "5000", "-o", str(o / "d")], "--size"),
        ("splits_sum", lambda o: ["dataset", "poses", "--count", "4", "--splits", "0.5,0.5,0.5", "-o", str(o / "d")],
         "--splits"),
        ("splits_words", lambda o: ["dataset", "poses", "--count", "4", "--splits", "a,b,c", "-o", str(o / "d")],
         "--splits"),
        ("refs_zero", lambda o: ["dataset", "sheets", "--count", "4", "--refs", "0", "-o", str(o / "d")], "--refs"),
    ])


def _detect_image() -> str:
    """A valid picture for the detect option cases (written once into the session folder)."""
    p = session_dir() / "detect_ok.png"
    if not p.exists():
        from PIL import Image

        Image.fromarray(noise((48, 32))).save(p)
    return str(p)


def _dataset_dir() -> str:
    """A folder that passes for a kyara dataset (it has a manifest.json), in the session folder."""
    d = session_dir() / "dataset_ok"
    if not (d / "manifest.json").exists():
        d.mkdir(exist_ok=True)
        (d / "manifest.json").write_text("{}")
    return str(d)


if "detect" in _cli_commands():  # the image reader's cases through kyara detect, and its options
    add("image", {"detect": lambda p, o: ["detect", str(p), "-o", str(o / "d")]}, IMAGES)
    _opts("detect", [
        ("unknown_backend", lambda o: ["detect", _detect_image(), "--backend", "openpose", "-o", str(o / "d")],
         "--backend 'openpose'"),
        ("unknown_style", lambda o: ["detect", _detect_image(), "--openpose-style", "thin", "-o", str(o / "d")],
         "--openpose-style 'thin'"),
        ("no_output", lambda o: ["detect", _detect_image()], "-o|--output"),
        ("output_parent_missing", lambda o: ["detect", _detect_image(), "-o", str(o / "no" / "d")], "does not exist"),
        ("image_missing", lambda o: ["detect", str(session_dir() / "no_such.png"), "-o", str(o / "d")],
         "does not exist"),
    ])


_opts("train", [
    ("unknown_model", lambda o: ["train", "nope", "--data", str(session_dir()), "-o", str(o / "r")], "no model named"),
    ("not_a_dataset", lambda o: ["train", "detector", "--data", str(session_dir()), "-o", str(o / "r")],
     "not a kyara dataset"),
    ("no_data", lambda o: ["train", "detector", "-o", str(o / "r")], "--data"),
    ("unknown_recipe", lambda o: ["train", "detector", "--data", str(session_dir()), "--recipe", "huge",
                                  "-o", str(o / "r")], "--recipe"),
    ("steps_zero", lambda o: ["train", "detector", "--data", str(session_dir()), "--steps", "0", "-o", str(o / "r")],
     "--steps"),
    ("minutes_nan", lambda o: ["train", "detector", "--data", str(session_dir()), "--minutes", "nan",
                               "-o", str(o / "r")], "--minutes"),
])
_opts("eval", [
    ("unknown_model", lambda o: ["eval", "nope", "-o", str(o / "e.json")], "no model named"),
    ("count_zero", lambda o: ["eval", "detector", "--count", "0", "-o", str(o / "e.json")], "--count"),
    ("not_a_dataset", lambda o: ["eval", "detector", "--data", str(session_dir()), "-o", str(o / "e.json")],
     "not a kyara dataset"),
    ("output_parent_missing", lambda o: ["eval", "detector", "-o", str(o / "no" / "e.json")], "does not exist"),
    ("weights_missing", lambda o: ["eval", "detector", "--weights", str(session_dir() / "no.safetensors"),
                                   "-o", str(o / "e.json")], "do not exist"),
    ("drawing_data", lambda o: ["eval", "drawing", "--data", _dataset_dir(), "-o", str(o / "e.json")],
     "--data is not used by kyara eval drawing"),
    ("drawing_weights", lambda o: ["eval", "drawing", "--weights", _detect_image(), "-o", str(o / "e.json")],
     "--weights .* is not used by kyara eval drawing"),
    ("paint_no_folder", lambda o: ["eval", "paint", "-o", str(o / "e.json")], "needs the output folder"),
    ("paint_not_a_folder", lambda o: ["eval", "paint", _detect_image(), "-o", str(o / "e.json")], "is not a folder"),
    ("paint_with_data", lambda o: ["eval", "paint", str(session_dir()), "--data", _dataset_dir(), "-o",
                                   str(o / "e.json")], "measures one folder"),
    ("paint_without_paint_json", lambda o: ["eval", "paint", str(session_dir()), "-o", str(o / "e.json")],
     "no paint.json"),
    ("folder_for_detector", lambda o: ["eval", "detector", str(session_dir()), "-o", str(o / "e.json")],
     "takes no folder"),
])


if "drawing" in _cli_commands():  # kyara drawing: the image reader's cases are checked by its own tests
    _opts("drawing", [
        ("image_missing", lambda o: ["drawing", str(session_dir() / "no_such.png"), "-o", str(o / "d")],
         "does not exist"),
        ("no_output", lambda o: ["drawing", _detect_image()], "-o|--output"),
        ("output_parent_missing", lambda o: ["drawing", _detect_image(), "-o", str(o / "no" / "d")], "does not exist"),
        ("unknown_motion", lambda o: ["drawing", _detect_image(), "--motion", "moonwalk", "-o", str(o / "d")],
         "moonwalk"),
        ("size_zero", lambda o: ["drawing", _detect_image(), "--size", "0", "-o", str(o / "d")], "--size"),
        ("unknown_detector", lambda o: ["drawing", _detect_image(), "--detector", "yolo", "-o", str(o / "d")],
         "yolo"),
        ("height_negative", lambda o: ["drawing", _detect_image(), "--height", "-1", "-o", str(o / "d")], "--height"),
    ])


if "sheet" in _cli_commands():  # kyara sheet: its own tests hold the UDP and reference cases
    _opts("sheet", [
        ("image_missing", lambda o: ["sheet", str(session_dir() / "no_such.png"), "--pose", "jog",
                                     "-o", str(o / "s.png")], "does not exist"),
        ("no_target", lambda o: ["sheet", _detect_image(), "-o", str(o / "s.png")], "target"),
        ("unknown_method", lambda o: ["sheet", _detect_image(), "--pose", "jog", "--method", "gan",
                                      "-o", str(o / "s.png")], "gan"),
        ("txt_output", lambda o: ["sheet", _detect_image(), "--pose", "jog", "-o", str(o / "s.txt")], r"\.txt"),
        ("unknown_pose", lambda o: ["sheet", _detect_image(), "--pose", "moonwalk", "-o", str(o / "s.png")],
         "moonwalk"),
        ("reference_without_background", lambda o: ["sheet", _detect_image(), "--udp", str(session_dir() / "no.npz"),
                                                    "-o", str(o / "s.png")], "no plain background"),
    ])


if "batch" in _cli_commands():  # being written: its cases count once the command is there
    add("job", {"batch": lambda p, o: ["batch", str(p), "-o", str(o / "b")]}, BATCH)


def _bad_tag_presets() -> str:
    """A tag presets file with a style whose tags are not a list (written once into the session folder)."""
    p = session_dir() / "bad_tags.yaml"
    if not p.exists():
        p.write_text("styles:\n  mine:\n    tags: hello\n")
    return str(p)


_opts("tags", [
    ("empty_prompt", lambda o: ["tags", "  "], "prompt is empty"),
    ("unknown_family", lambda o: ["tags", "a girl", "--tag-family", "sd3"], "tag family 'sd3' is unknown"),
    ("unknown_style", lambda o: ["tags", "a girl", "--style", "oil"], "style 'oil' is unknown"),
    ("presets_missing", lambda o: ["tags", "a girl", "--tag-presets", str(o / "no.yaml")], "does not exist"),
    ("presets_malformed", lambda o: ["tags", "a girl", "--tag-presets", _bad_tag_presets()],
     r"styles\.mine\.tags: expected a list"),
    ("prompt_control_character", lambda o: ["tags", "a\x07girl"], "control character"),
    ("no_prompt", lambda o: ["tags"], "missing argument"),
])
_opts("image", [
    ("tags_unknown_mode", lambda o: ["image", "a girl", "--model", "tiny", "--tags", "maybe", "-o", str(o / "i.png")],
     "--tags 'maybe'"),
    ("style_with_tags_off", lambda o: ["image", "a girl", "--model", "tiny", "--style", "cel", "-o", str(o / "i.png")],
     "need --tags on or auto"),
])


if "upscale" in _cli_commands():  # the image reader's cases through kyara upscale, and its options
    add("image", {"upscale": lambda p, o: ["upscale", str(p), "-o", str(o / "u.png")]}, IMAGES)
    _opts("upscale", [
        ("scale_3", lambda o: ["upscale", _detect_image(), "--scale", "3", "-o", str(o / "u.png")], "--scale 3"),
        ("unknown_model", lambda o: ["upscale", _detect_image(), "--model", "waifu2x", "-o", str(o / "u.png")],
         "--model 'waifu2x'"),
        ("image_missing", lambda o: ["upscale", str(session_dir() / "no_such.png"), "-o", str(o / "u.png")],
         "does not exist"),
        ("jpg_output", lambda o: ["upscale", _detect_image(), "-o", str(o / "u.jpg")], r"\.jpg"),
        ("gpu_negative", lambda o: ["upscale", _detect_image(), "--gpu", "-5", "-o", str(o / "u.png")], "--gpu -5"),
        ("tile_zero", lambda o: ["upscale", _detect_image(), "--tile", "0", "-o", str(o / "u.png")], "--tile 0"),
        ("scale_words", lambda o: ["upscale", _detect_image(), "--scale", "two", "-o", str(o / "u.png")], "--scale"),
        ("no_output", lambda o: ["upscale", _detect_image()], "-o|--output"),
        ("output_parent_missing", lambda o: ["upscale", _detect_image(), "-o", str(o / "no" / "u.png")],
         "does not exist"),
    ])
_opts("image", [
    ("upscale_3", lambda o: ["image", "a girl", "--model", "tiny", "--upscale", "3", "-o", str(o / "i.png")],
     "--upscale 3"),
    ("upscale_model_unknown", lambda o: ["image", "a girl", "--model", "tiny", "--upscale", "2", "--upscale-model",
                                         "waifu2x", "-o", str(o / "i.png")], "--upscale-model 'waifu2x'"),
    ("hires_upscaler_unknown", lambda o: ["image", "a girl", "--model", "tiny", "--hires-scale", "2",
                                          "--hires-upscaler", "esrgan", "-o", str(o / "i.png")],
     "--hires-upscaler 'esrgan'"),
])

_PAINT = ["paint", "--character", str(MINIMAL_VRM), "--prompt", "a girl", "--model", "tiny"]
_opts("paint", [
    ("views_zero", lambda o: [*_PAINT, "--views", "0", "-o", str(o / "p")], "--views 0"),
    ("view_size_100", lambda o: [*_PAINT, "--view-size", "100", "-o", str(o / "p")], "--view-size 100"),
    ("size_not_square", lambda o: [*_PAINT, "--size", "512x256", "-o", str(o / "p")], "--size '512x256'"),
    ("controlnet_canny", lambda o: [*_PAINT, "--controlnet", "canny=tiny", "-o", str(o / "p")], "cannot paint"),
    ("palette_negative", lambda o: [*_PAINT, "--palette", "-1", "-o", str(o / "p")], "--palette -1"),
    ("vrm_without_prompt", lambda o: ["paint", "--character", str(MINIMAL_VRM), "--model", "tiny", "-o", str(o / "p")],
     "missing --prompt"),
    ("character_missing", lambda o: ["paint", "--character", str(o / "none.json"), "--model", "tiny",
                                     "-o", str(o / "p")], "does not exist"),
    ("model_missing", lambda o: ["paint", "--character", str(MINIMAL_VRM), "--prompt", "a girl", "--model",
                                 str(o / "no" / "model.safetensors"), "-o", str(o / "p")], "does not exist"),
])
_REFINE = ["refine", "--character", str(MINIMAL_VRM), "--prompt", "a girl", "--model", "tiny"]
_opts("refine", [
    ("iters_zero", lambda o: [*_REFINE, "--iters", "0", "-o", str(o / "r")], "--iters 0"),
    ("size_100", lambda o: [*_REFINE, "--size", "100", "-o", str(o / "r")], "--size 100"),
    ("texture_size_8", lambda o: [*_REFINE, "--texture-size", "8", "-o", str(o / "r")], "--texture-size 8"),
    ("cel_weight_negative", lambda o: [*_REFINE, "--cel-weight", "-1", "-o", str(o / "r")], "--cel-weight -1"),
    ("lora_missing", lambda o: [*_REFINE, "--lora", str(o / "no.safetensors:0.8"), "-o", str(o / "r")],
     "does not exist"),
    ("vrm_without_prompt", lambda o: ["refine", "--character", str(MINIMAL_VRM), "--model", "tiny", "-o", str(o / "r")],
     "missing --prompt"),
    ("character_missing", lambda o: ["refine", "--character", str(o / "none.json"), "--model", "tiny",
                                     "-o", str(o / "r")], "does not exist"),
    ("resume_without_checkpoint", lambda o: [*_REFINE, "--resume", "-o", str(o / "r")], "no refinement checkpoint"),
    ("posed_fraction_2", lambda o: [*_REFINE, "--posed-fraction", "2", "-o", str(o / "r")], "--posed-fraction 2"),
    ("posed_fraction_nan", lambda o: [*_REFINE, "--posed-fraction", "nan", "-o", str(o / "r")], "--posed-fraction nan"),
    ("gaussians_negative", lambda o: [*_REFINE, "--gaussians", "-1", "-o", str(o / "r")], "--gaussians -1"),
    ("gaussian_prune_opacity_2", lambda o: [*_REFINE, "--gaussians", "10", "--gaussian-prune-opacity", "2",
                                            "-o", str(o / "r")], "--gaussian-prune-opacity 2"),
    ("gaussian_iters_0", lambda o: [*_REFINE, "--gaussians", "10", "--gaussian-iters", "0", "-o", str(o / "r")],
     "--gaussian-iters 0"),
])
_CREATE_REFINE = ["create", "a girl", "--model", "tiny", "--refine"]
_opts("create", [
    ("paint_views_without_model", lambda o: ["create", "a girl", "--views", "4", "-o", str(o / "c")],
     "expected --model"),
    ("refine_without_model", lambda o: ["create", "a girl", "--refine", "-o", str(o / "c")], "expected --model"),
    ("face_views_without_model", lambda o: ["create", "a girl", "--face-views", "2", "-o", str(o / "c")],
     "expected --model"),
    ("refine_with_front_back", lambda o: [*_CREATE_REFINE, "--front-back", "off", "-o", str(o / "c")],
     "one or the other"),
    ("iters_without_refine", lambda o: ["create", "a girl", "--model", "tiny", "--iters", "5", "-o", str(o / "c")],
     "expected --refine"),
    ("refine_with_views", lambda o: [*_CREATE_REFINE, "--views", "4", "-o", str(o / "c")], "one or the other"),
    ("refine_iters_zero", lambda o: [*_CREATE_REFINE, "--iters", "0", "-o", str(o / "c")], "--iters 0"),
    ("refine_posed_fraction", lambda o: [*_CREATE_REFINE, "--posed-fraction", "-0.5", "-o", str(o / "c")],
     "--posed-fraction -0.5"),
    ("refine_view_size_100", lambda o: [*_CREATE_REFINE, "--view-size", "100", "-o", str(o / "c")],
     "--view-size 100"),
])


# -- running one case ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("malformed_corpus")
    SESSION[:] = [d]
    return d


def _input(case: Case, corpus_dir: Path) -> Path:
    """The case's file, written on first use into its own folder of the session folder."""
    folder = corpus_dir / case.cls / case.name
    path = folder / case.filename
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.make())
    return path


def _quiet(caught) -> list[str]:
    """Warnings a user would see as lines on stderr (Python hides deprecation warnings by default)."""
    return [f"{w.category.__name__}: {w.message}" for w in caught
            if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, ImportWarning))]


def _check_line(line: str, case: Case, path: Path | None = None) -> None:
    assert line.startswith("error: "), line[:300]
    assert "internal error" not in line and "Traceback" not in line, line[:300]
    assert len(line) <= MAX_LINE, f"{len(line)} characters: {line[:300]}..."
    if case.studio and case.cls == "spec" and not re.search(GATE, line) and not re.search(case.needle, line, re.I):
        line = _studio_spec_line(line, case, path)
    assert re.search(case.needle, line, re.I) or (case.studio and re.search(GATE, line)), \
        f"{case.needle!r} not in {line[:400]!r}"


def _studio_spec_line(line: str, case: Case, path: Path) -> str:
    """The studio says a spec's fault in the user's words (no internal field names): its line must be
    the translation of the CLI's own message for the same file, which is what the needle is checked
    against."""
    from kyara.character.spec import load_spec
    from kyara.studio.handlers.characters import spec_error_words

    with pytest.raises(ValueError) as info:
        load_spec(path)
    raw = str(info.value).split(": ", 1)[1] if str(info.value).startswith(str(path)) else str(info.value)
    shown = line[len("error: "):]
    if case.command == "studio.create_import":
        shown = shown[len(f"{case.filename}: "):] if shown.startswith(f"{case.filename}: ") else shown
    assert shown.startswith(spec_error_words(raw)[:60]), (shown[:300], raw[:300])
    return f"error: {raw}"


def _run_cli(case: Case, path: Path | None, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    argv = case.call(path, out) if path is not None else case.call(out)
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = run(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, f"exit {code}: {captured.err[:500]}"
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {captured.err[:1000]}"
    _check_line(lines[0], case)
    assert captured.out == "", captured.out[:300]
    assert not _quiet(caught), _quiet(caught)
    assert list(out.iterdir()) == [], sorted(p.name for p in out.iterdir())  # no output, no temporary file
    if path is not None:  # nothing written beside the input either
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def _run_studio(case: Case, path: Path, tmp_path: Path) -> None:
    from kyara.studio import handlers as H
    from kyara.studio.session import Workspace

    upload = tmp_path / "gradio" / UPLOAD_HASH / case.filename  # where gradio keeps an upload
    upload.parent.mkdir(parents=True)
    shutil.copyfile(path, upload)
    ws = Workspace.for_session(tmp_path / "studio", "session1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Exception) as info:
            case.call(upload, ws)
    line = H.one_line(info.value)
    assert isinstance(info.value, (ValueError, FileNotFoundError)), line[:500]
    _check_line(line, case, path)
    assert "\n" not in line
    if case.command != "studio.create_spec":  # an upload: its name, never where it was kept
        assert case.filename in line, line[:400]
        assert UPLOAD_HASH not in line and str(tmp_path) not in line and "/tmp/" not in line, line[:400]
    assert not _quiet(caught), _quiet(caught)
    assert not ws.dir.exists() or list(ws.dir.rglob("*")) == [], sorted(str(p) for p in ws.dir.rglob("*"))


def _marks(case: Case):
    return [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=_marks(c)) for c in CASES])
def test_malformed_input(case: Case, corpus_dir: Path, tmp_path: Path, capsys) -> None:
    path = _input(case, corpus_dir) if case.make is not None else None
    if case.studio:
        _run_studio(case, path, tmp_path)
    else:
        _run_cli(case, path, tmp_path, capsys)
    assert not (corpus_dir / CANARY).exists(), "a YAML python tag ran code"


# -- the corpus's size ----------------------------------------------------------------------------------
def _base_command(command: str) -> str:
    return command.split("-")[0]  # image-pose, inspect-bvh: the same CLI command


def test_corpus_counts() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert len(CASES) >= 200, len(CASES)
    per_class = Counter(c.cls for c in CASES)
    for cls in CLASSES:
        assert per_class[cls] >= 15, (cls, per_class[cls])
    assert set(per_class) == set(CLASSES)
    assert sum(c.studio for c in CASES) >= 20
    per_command = Counter(_base_command(c.command) for c in CASES if not c.studio)
    for command in _cli_commands():
        assert per_command[command] >= 5, (command, per_command[command])
    assert {c.command for c in CASES if c.studio} >= {"studio.animate", "studio.pose_json", "studio.pose_image",
                                                      "studio.avatar", "studio.create_spec", "studio.create_import"}


def test_image_oddities_are_read(tmp_path) -> None:
    """16-bit, palette, grey+alpha, 1-bit and CMYK files are not malformed: the shared reader and the
    studio's upload check take them, and they become RGB like any other condition image."""
    from PIL import Image

    from kyara.fileio import load_image
    from kyara.generate.conditions import read_image_rgb
    from kyara.studio.session import check_upload

    rgb = noise((16, 8))
    odd = {
        "grey16.png": Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)),
        "palette.png": Image.fromarray(rgb).convert("P"),
        "grey_alpha.png": Image.fromarray(rgb[..., :2], "LA"),
        "bits.png": Image.fromarray(rgb[..., 0] > 128),
        "cmyk.jpg": Image.fromarray(noise((16, 8), "CMYK"), "CMYK"),
    }
    for name, im in odd.items():
        im.save(tmp_path / name)
        assert load_image(tmp_path / name).size == (16, 8), name
        assert check_upload(tmp_path / name, "image") == tmp_path / name
        assert read_image_rgb(tmp_path / name, (32, 16)).shape == (16, 32, 3), name


@pytest.mark.parametrize("bom, encoding", [(b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                                           (b"\xfe\xff", "utf-16-be")])
def test_studio_reads_openpose_json_with_a_byte_order_mark(tmp_path, bom, encoding) -> None:
    """A byte order mark is no reason to refuse a JSON upload; the reader's notes (here: no canvas
    size) come back for the page's status line."""
    from kyara.studio import handlers as H
    from kyara.studio.session import Workspace

    body = [[100.0 + 10 * i, 50.0 + 20 * i, 1.0] for i in range(18)]
    upload = tmp_path / "gradio" / UPLOAD_HASH / "pose from tool.json"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(bom + json.dumps({"people": [{"pose_keypoints_2d": body}]}, indent=1).encode(encoding))
    prev = H.pose_json_upload(Workspace.for_session(tmp_path / "studio", "s"), upload)
    assert prev.openpose.any() and prev.files["openpose_json"].is_file()
    assert any("canvas" in n for n in prev.notes), prev.notes
