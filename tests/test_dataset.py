"""``kyara dataset``: the plan, the labels, the shard format, the torch reader, bad arguments,
and a real Ray cluster (two node processes on this machine): a cluster run equals a
single-process run byte for byte, a worker that dies is retried, a killed driver resumes."""

from __future__ import annotations

import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from kyara.cli.main import run

RAY = Path(sys.executable).parent / "ray"
DATA = Path(__file__).parent / "data"
MOTIONS = Path(__file__).parents[1] / "kyara" / "data" / "motions"  # the shipped CMU clips
KYARA = Path(sys.executable).parent / "kyara"
# 4 characters x 2 samples at 64 px, one character per shard: 2 train, 1 val, 1 test shards
CFG = dict(kind="poses", count=8, per_character=2, size=64, seed=1, shard_characters=1, splits=(0.5, 0.25, 0.25))
CLI = ["dataset", "poses", "--count", "8", "--per-character", "2", "--size", "64", "--seed", "1",
       "--shard-characters", "1", "--splits", "50,25,25"]

# bad arguments: (name, argv after `kyara` with {tmp} for a scratch folder, regex the error line
# must match). Each ends as one `error:` line, exit 2, nothing written. Reused by
# tests/test_malformed_corpus.py. {tmp} holds `file.txt` and `full/` (a folder with a stray file).
BAD_DATASET_ARGS = [
    ("unknown-kind", ["dataset", "portraits", "--count", "4", "-o", "{tmp}/out"], r"kind 'portraits' is unknown"),
    ("count-zero", ["dataset", "poses", "--count", "0", "-o", "{tmp}/out"], r"--count 0 is out of range"),
    ("count-not-int", ["dataset", "poses", "--count", "lots", "-o", "{tmp}/out"], r"count"),
    ("per-character-huge", ["dataset", "poses", "--count", "4", "--per-character", "5000", "-o", "{tmp}/out"],
     r"--per-character 5000 is out of range"),
    ("size-not-square", ["dataset", "poses", "--count", "4", "--size", "128x64", "-o", "{tmp}/out"], r"not square"),
    ("size-tiny", ["dataset", "poses", "--count", "4", "--size", "8", "-o", "{tmp}/out"], r"--size 8 is out of range"),
    ("seed-negative", ["dataset", "poses", "--count", "4", "--seed", "-3", "-o", "{tmp}/out"], r"--seed -3"),
    ("splits-two", ["dataset", "poses", "--count", "4", "--splits", "90,10", "-o", "{tmp}/out"], r"--splits '90,10'"),
    ("splits-sum", ["dataset", "poses", "--count", "4", "--splits", "50,20,20", "-o", "{tmp}/out"], r"sums to 90"),
    ("refs-zero", ["dataset", "sheets", "--count", "4", "--refs", "0", "-o", "{tmp}/out"], r"--refs 0"),
    ("shards-too-big", ["dataset", "poses", "--count", "4", "--per-character", "1000", "--shard-characters",
                        "100", "--size", "512", "-o", "{tmp}/out"], r"at most 256 MB"),
    ("ray-empty", ["dataset", "poses", "--count", "4", "--ray", " ", "-o", "{tmp}/out"], r"--ray ' ' is not valid"),
    ("workers-with-ray", ["dataset", "poses", "--count", "4", "--ray", "auto", "--workers", "2", "-o", "{tmp}/out"],
     r"--workers"),
    ("workers-zero", ["dataset", "poses", "--count", "4", "--workers", "0", "-o", "{tmp}/out"], r"--workers 0"),
    ("output-parent-missing", ["dataset", "poses", "--count", "4", "-o", "{tmp}/no/such/out"], r"does not exist"),
    ("output-is-file", ["dataset", "poses", "--count", "4", "-o", "{tmp}/file.txt"], r"not a folder"),
    ("output-not-a-dataset", ["dataset", "poses", "--count", "4", "-o", "{tmp}/full"], r"holds no manifest.json"),
    ("motion-missing", ["dataset", "poses", "--count", "4", "--motion", "{tmp}/none.bvh", "-o", "{tmp}/out"],
     r"motion file '.*none.bvh' does not exist"),
    ("motion-not-bvh", ["dataset", "poses", "--count", "4", "--motion", "{tmp}/file.txt", "-o", "{tmp}/out"],
     r"--motion '.*file.txt' is not a .bvh file"),
    ("motion-truncated", ["dataset", "poses", "--count", "4", "--motion", "{data}/motion_corpus/truncated.bvh",
                          "-o", "{tmp}/out"], r"truncated.bvh line \d+: truncated file"),
    ("motion-unknown-rig", ["dataset", "poses", "--count", "4", "--motion", "{data}/motion_corpus/unknown_joints.bvh",
                            "-o", "{tmp}/out"], r"--motion '.*unknown_joints.bvh': unknown joint names.*kyara inspect"),
    ("motion-twice", ["dataset", "poses", "--count", "4", "--motion", "{motions}/walk.bvh", "--motion",
                      "{motions}/walk.bvh", "-o", "{tmp}/out"], r"two files are named 'walk.bvh'"),
]


def _tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name,args,needle", BAD_DATASET_ARGS, ids=[c[0] for c in BAD_DATASET_ARGS])
def test_bad_arguments_one_line_exit_2_nothing_written(tmp_path, capsys, name, args, needle):
    import re

    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "stray.txt").write_text("x")
    before = _tree(tmp_path)
    code = run([a.replace("{tmp}", str(tmp_path)).replace("{data}", str(DATA)).replace("{motions}", str(MOTIONS))
                for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert re.search(needle, err[0]), err[0]
    assert _tree(tmp_path) == before and not (tmp_path / "out").exists()


# -- the plan ---------------------------------------------------------------------------------
def test_plan_ids_splits_and_shards_are_stable():
    from kyara.dataset.config import DatasetConfig, plan_characters, plan_shards, split_of

    small = plan_characters(DatasetConfig(count=40, per_character=4, seed=7))
    big = plan_characters(DatasetConfig(count=4000, per_character=4, seed=7, splits=(0.9, 0.05, 0.05)))
    assert [c.id for c in small] == [c.id for c in big[:10]]  # ids depend on (seed, index) only
    assert [c.split for c in small] == [c.split for c in big[:10]]  # the split on the id only
    assert len({c.id for c in big}) == len(big)
    other = plan_characters(DatasetConfig(count=40, per_character=4, seed=8))
    assert not {c.id for c in other} & {c.id for c in small}  # another seed, other characters
    share = {s: sum(c.split == s for c in big) / len(big) for s in ("train", "val", "test")}
    assert 0.86 < share["train"] < 0.94 and 0.03 < share["val"] < 0.07, share
    assert all(split_of(c.id, (0.9, 0.05, 0.05)) == c.split for c in big[:50])
    cfg = DatasetConfig(count=10, per_character=3, seed=7, shard_characters=2)
    shards = plan_shards(cfg)
    assert sum(s.samples for s in shards) == 10 and sorted(c.samples for s in shards for c in s.characters) == [1, 3, 3, 3]
    for s in shards:
        assert s.name.startswith(s.split + "-") and all(c.split == s.split for c in s.characters)


def test_encoders_are_byte_exact_and_plain_readable():
    from kyara.dataset.format import iter_records, json_bytes, npz_bytes, png_bytes, tar_bytes

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (8, 8, 4), dtype=np.uint8)
    udp = rng.uniform(size=(8, 8, 4)).astype(np.float32)
    a = tar_bytes([("k.rgba.png", png_bytes(img)), ("k.udp.npz", npz_bytes(i=udp)), ("k.meta.json", json_bytes({"b": 1, "a": 2}))])
    time.sleep(1.1)  # a timestamp anywhere would now differ
    b = tar_bytes([("k.rgba.png", png_bytes(img)), ("k.udp.npz", npz_bytes(i=udp)), ("k.meta.json", json_bytes({"a": 2, "b": 1}))])
    assert a == b
    with tarfile.open(fileobj=io.BytesIO(a)) as tf:  # plain tarfile + numpy + Pillow, no kyara
        infos = tf.getmembers()
        assert [i.name for i in infos] == ["k.rgba.png", "k.udp.npz", "k.meta.json"]
        assert all(i.mtime == 0 and i.uid == 0 and i.gid == 0 and i.mode == 0o644 for i in infos)
        with np.load(io.BytesIO(tf.extractfile(infos[1]).read())) as z:
            assert z["i"].dtype == np.float32 and np.array_equal(z["i"], udp)
        from PIL import Image

        assert np.array_equal(np.asarray(Image.open(io.BytesIO(tf.extractfile(infos[0]).read()))), img)
    p = Path(tempfile.mkdtemp()) / "s.tar"
    p.write_bytes(a)
    assert [k for k, _ in iter_records(p)] == ["k"]
    shutil.rmtree(p.parent)


# -- a dataset made in this process (the reference of every Ray run) ----------------------------
@pytest.fixture(scope="module")
def reference(tmp_path_factory, gl):
    from kyara.dataset import DatasetConfig, write_dataset

    d = tmp_path_factory.mktemp("reference") / "ds"
    res = write_dataset(DatasetConfig(**CFG), d, use_ray=False)
    assert res.shards_written == ["train-00000.tar", "train-00001.tar", "val-00000.tar", "test-00000.tar"]
    return d


def _edges(mask: np.ndarray, parts: np.ndarray, depth: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Pixels next to a silhouette, part, depth (>= 8 grey levels) or normal (>= 35 deg) discontinuity."""
    n = normal.astype(np.float64) / 127.5 - 1.0
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-9)
    e = np.zeros(mask.shape, bool)
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        def sh(a):
            return np.roll(np.roll(a, dy, 0), dx, 1)
        jump = (mask != sh(mask)) | (parts != sh(parts)) | (np.abs(depth.astype(int) - sh(depth).astype(int)) >= 8)
        jump |= np.sum(n * sh(n), axis=-1) < np.cos(np.deg2rad(35))
        e |= jump | sh(jump)
    return e


def _dilate(a: np.ndarray, r: int) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    return binary_dilation(a, iterations=r)


def test_labels_agree_with_each_other(reference):
    from scipy.ndimage import distance_transform_edt

    from kyara.character.spec import CharacterSpec
    from kyara.dataset import iter_samples

    samples = list(iter_samples(reference, split=None))
    assert len(samples) == 8
    lines_near, lines_all, shown = 0, 0, 0
    for s in samples:
        mask = s["mask"] > 0
        assert s["rgba"].shape == (64, 64, 4) and s["udp"].shape == (64, 64, 4) and s["udp"].dtype == np.float32
        assert mask.any()
        # UDP: occupancy and coordinates non-zero exactly on the mask
        assert np.array_equal(s["udp"][..., 3] > 0, mask)
        assert np.array_equal(np.any(s["udp"] != 0, axis=-1), mask)
        assert s["udp"].min() >= 0 and s["udp"].max() <= 1
        assert np.array_equal(s["parts"] != 255, mask)  # every covered pixel has a part label
        # keypoints marked visible project onto the character: body points within 1 px of the mask;
        # finger joints (a hand is ~4 px wide at 64 px, a finger under a pixel) within 3.5 px
        outside = distance_transform_edt(~mask)
        for name, tol in (("body", 1.0), ("hand_left", 3.5), ("hand_right", 3.5)):
            k = np.asarray(s["openpose"]["kyara_keypoints_2d"][name]).reshape(-1, 3)
            vis = k[k[:, 2] == 2]
            shown += len(vis)
            xy = np.clip(np.rint(vis[:, :2]).astype(int), 0, 63)
            assert (outside[xy[:, 1], xy[:, 0]] <= tol).all(), (s["key"], name, outside[xy[:, 1], xy[:, 0]].max())
            pose = np.asarray(s["openpose"]["people"][0]["pose_keypoints_2d"]).reshape(-1, 3)
            if name == "body":  # the ControlNet array holds exactly the visible points
                assert np.array_equal(pose[:, 2] > 0, k[:, 2] == 2)
        # line art lies on the character's edges
        line = s["lineart"] > 0
        near = _dilate(_edges(s["mask"], s["parts"], s["depth"], s["normal"]), 1)
        lines_near += int((line & near).sum())
        lines_all += int(line.sum())
        assert s["meta"]["character"] == s["character"] and s["meta"]["camera"]["width"] == 64
        CharacterSpec.from_dict(s["spec"])  # a spec `kyara create --spec` takes
    assert shown > 40
    assert lines_all > 100 and lines_near / lines_all > 0.97, (lines_near, lines_all)


def test_splits_never_share_a_character_and_manifest_matches(reference):
    from kyara.dataset import iter_samples, read_manifest
    from kyara.dataset.format import sha256_file

    chars = {sp: {s["character"] for s in iter_samples(reference, sp, fields=("meta",))} for sp in ("train", "val", "test")}
    assert chars["train"] and chars["val"] and chars["test"]
    assert not (chars["train"] & chars["val"]) and not (chars["train"] & chars["test"]) and not (chars["val"] & chars["test"])
    man = read_manifest(reference)
    assert man["complete"] and man["counts"]["samples"] == 8 and man["counts"]["splits"]["train"]["characters"] == 2
    assert man["seed"] == 1 and man["kyara_version"]
    for row in man["shards"]:
        assert sha256_file(reference / row["name"]) == row["sha256"]
        assert (reference / row["name"]).stat().st_size == row["bytes"]
    assert not list(reference.glob(".*"))  # no partial or temporary files


def test_torch_reader_two_workers_each_sample_once(reference):
    torch = pytest.importorskip("torch")
    from kyara.dataset import iter_samples, load

    want = [s["key"] for s in iter_samples(reference, "train", fields=())]
    assert len(want) == 4
    loader = torch.utils.data.DataLoader(load(reference, split="train"), batch_size=None, num_workers=2)
    got = []
    for s in loader:
        got.append(s["key"])
        assert s["udp"].shape == (64, 64, 4) and s["keypoints"].shape == (18, 3)
    assert sorted(got) == sorted(want)
    batch = next(iter(torch.utils.data.DataLoader(load(reference, "val", fields=("rgba", "udp", "keypoints")),
                                                  batch_size=2)))
    assert tuple(batch["rgba"].shape) == (2, 64, 64, 4) and batch["udp"].dtype == torch.float32
    assert set(batch["key"]).isdisjoint(want)


def test_sheets_and_drawings_kinds(tmp_path, gl):
    from kyara.dataset import DatasetConfig, iter_samples, write_dataset

    write_dataset(DatasetConfig(kind="sheets", count=2, per_character=2, size=64, seed=4, refs=3, splits=(1, 0, 0)),
                  tmp_path / "sheets", use_ray=False)
    sheets = list(iter_samples(tmp_path / "sheets", "train"))
    assert len(sheets) == 2 and sheets[0]["character"] == sheets[1]["character"]
    for s in sheets:  # n references of the same character beside every target
        assert len(s["refs"]) == 3 and s["refs"][0]["meta"]["character"] == s["character"]
        assert [r["meta"]["camera"]["azimuth_deg"] for r in s["refs"]] == [0.0, 120.0, 240.0]
        for r in s["refs"]:
            assert r["rgba"].shape == (64, 64, 4) and np.array_equal(r["udp"][..., 3] > 0, r["mask"] > 0)
        assert "rgba" in s and "udp" in s
    write_dataset(DatasetConfig(kind="drawings", count=4, per_character=4, size=128, seed=5, splits=(1, 0, 0)),
                  tmp_path / "drawings", use_ray=False)
    drawings = list(iter_samples(tmp_path / "drawings", "train"))
    variants, inside_lines = set(), []
    for s in drawings:
        img = s["drawing"].astype(int)
        assert img.shape == (128, 128, 3) and "rgba" not in s
        style = s["meta"]["drawing"]
        variants.add(style["variant"])
        paper = ~_dilate((s["mask"] > 0) | (s["lineart"] > 0), 3)
        bg = img[paper]
        # paper: light and nearly grey away from the character and its lines
        assert bg.mean() > 200 and np.abs(bg - bg.mean(axis=1, keepdims=True)).max() < 40
        ink = img.sum(axis=-1) < 3 * 140  # dark strokes lie within the jitter of the clean lines
        assert ink.sum() > 20 and (ink & ~_dilate(s["lineart"] > 0, 2)).sum() < 0.05 * ink.sum()
        if style["variant"] == "lines":  # line art only: what is not ink inside the silhouette is paper
            inside_lines.append(img[(s["mask"] > 0) & ~ink])
    if inside_lines:
        pooled = np.concatenate(inside_lines)
        assert len(pooled) > 50 and pooled.mean() > 180
    assert variants <= {"lines", "flat"}


@pytest.mark.slow
def test_dataset_build_quality_is_faster_and_looks_the_same_at_128(gl):
    """BuildOptions(quality="dataset") takes well under half the CPU time of the default build and
    its 128 px silhouettes differ from the full-quality ones by under half a pixel on average
    (pixels that differ / pixels on the silhouette's rim), and its fingers are still there."""
    from scipy.ndimage import binary_erosion, distance_transform_edt

    from kyara.avatar import avatar_pose, character_body
    from kyara.character.build import BuildOptions, build_character
    from kyara.character.parser import parse_prompt
    from kyara.render.pipeline import RenderConfig, frame_views, render_views

    spec = parse_prompt("a girl with long twin tails in a skirt and boots", seed=11)
    out = {}
    for q in ("default", "dataset"):
        build_character(spec, BuildOptions(quality=q))  # warm: first builds pay one-off caches/compiles
        t = time.process_time()
        ch = build_character(spec, BuildOptions(quality=q))
        out[q] = [time.process_time() - t, ch]
    assert out["dataset"][0] < 0.6 * out["default"][0], (out["dataset"][0], out["default"][0])
    assert len(out["dataset"][1].merged()["faces"]) < 0.7 * len(out["default"][1].merged()["faces"])
    masks, views, off_hand = {}, None, {}
    for q, (_, ch) in out.items():  # the same cameras (framing the full-quality character) for both
        body = character_body(ch)
        pose = avatar_pose("wave", body)
        verts = body.pose(pose)[0]
        views = views or frame_views(verts, ["front", "side", 45.0], (128, 128))
        r = render_views(body, pose, views, RenderConfig(maps=("openpose", "mask")), vertices=verts)
        masks[q] = r.maps["mask"][..., 0] > 0
        d = []  # distance of every visible finger keypoint to the rendered silhouette, pixels
        for i, k in enumerate(r.keypoints):
            dist = distance_transform_edt(~masks[q][i])
            for hand in (k.hand_left, k.hand_right):
                xy = np.clip(np.rint(hand[hand[:, 2] > 0, :2]).astype(int), 0, 127)
                d += list(dist[xy[:, 1], xy[:, 0]])
        off_hand[q] = float(np.mean(np.array(d) > 1.0))
    for i in range(len(views)):
        a, b = masks["default"][i], masks["dataset"][i]
        rim = (a & ~binary_erosion(a)).sum()
        assert (a ^ b).sum() / rim < 0.5, (views[i].name, (a ^ b).sum(), rim)
    # the fingers survive the coarser grid: hand keypoints lie on the drawn hands as often as before
    assert off_hand["dataset"] <= off_hand["default"] + 0.05, off_hand


# -- the fast paths of dataset-quality builds against their references ---------------------------
def test_pinched_edge_is_split_without_moving_anything():
    """Two closed tetrahedra sharing one edge (four faces on it, as decimation leaves a thin finger):
    the split mesh is a closed 2-manifold with the same points, triangles and volume."""
    from kyara.body.mesh_ops import is_closed_manifold, signed_volume, split_pinched_edges

    v = np.array([[0, 0, 0], [1, 0, 0], [0.5, 1, 0.2], [0.5, 0.3, 1], [0.5, -1, 0.2], [0.5, -0.3, -1]], float)

    def tet(a, b, c, d):  # outward winding
        f = np.array([[a, c, b], [a, b, d], [a, d, c], [b, c, d]])
        return f if signed_volume(v, f) > 0 else f[:, ::-1]

    f = np.concatenate([tet(0, 1, 2, 3), tet(0, 1, 4, 5)])
    assert not is_closed_manifold(f)
    nv, nf = split_pinched_edges(v, f)
    assert is_closed_manifold(nf) and len(nv) == len(v) + 1 and len(nf) == len(f) + 2
    assert np.allclose(nv[-1], 0.5 * (v[0] + v[1])) and np.array_equal(nv[:len(v)], v)
    assert np.isclose(signed_volume(nv, nf), signed_volume(v, f))
    assert split_pinched_edges(v, f[:-1]) is None  # not watertight: not repaired


def test_closest_points_in_one_batch_equal_the_reference():
    import trimesh

    from kyara.character.skinning import closest_points_on_mesh, closest_points_on_mesh_reference

    m = trimesh.creation.icosphere(subdivisions=3)
    v, f = np.asarray(m.vertices), np.asarray(m.faces)
    rng = np.random.default_rng(0)
    p = v[rng.integers(0, len(v), 500)] * rng.uniform(0.8, 1.2, (500, 1)) + rng.normal(0, 0.02, (500, 3))
    normals = np.asarray(m.vertex_normals)
    for kw in ({}, {"k": 16}, {"mask": v[:, 1] > 0}, {"k": 8, "beneath": normals}):
        a, b = closest_points_on_mesh(v, f, p, **kw), closest_points_on_mesh_reference(v, f, p, **kw)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), kw
    assert (closest_points_on_mesh(v, f, p, k=8, beneath=normals)[0] == -1).any()  # the filter did something


def test_field_on_grid_equals_the_reference():
    from kyara.body.layout import body_layout
    from kyara.body.params import get_preset
    from kyara.body.surface import body_primitives, field_on_grid, field_on_grid_reference, primitive_boxes

    prims = body_primitives(body_layout(get_preset("chibi")))
    for origin, shape in ((np.array([-0.6, -0.02, -0.2]), (61, 60, 21)), (np.array([0.1, 0.5, 0.0]), (16, 16, 16))):
        ref = field_on_grid_reference(prims, origin, 0.02, shape)
        assert np.array_equal(field_on_grid(prims, origin, 0.02, shape), ref)
        assert np.array_equal(field_on_grid(prims, origin, 0.02, shape, primitive_boxes(prims)), ref)
        assert (ref < 0).any()


# -- the user's motion files ------------------------------------------------------------------
def _file_pose_seed(n_builtin: int) -> int:
    """The first seed whose character 0 takes its first pose from the one user file (drawn after
    the built-in clips), following the draws of kyara.dataset.sampling.random_pose."""
    from kyara.dataset.sampling import POSE_SOURCE_P, POSE_SOURCES, rng_for

    for seed in range(10_000):
        rng = rng_for(seed, 0, 2, 0)
        if str(rng.choice(POSE_SOURCES, p=POSE_SOURCE_P)) == "motion" and int(rng.choice(n_builtin + 1)) == n_builtin:
            return seed
    raise AssertionError("no seed draws the file")


def test_motion_files_join_the_pose_mix(tmp_path):
    """A file's frames are drawn like a built-in clip's (same sources as without files, presets and
    random poses unchanged); the arguments name the file and its sha256, and need its bytes back."""
    import hashlib

    from kyara.body.model import build_body
    from kyara.dataset.config import DatasetConfig
    from kyara.dataset.sampling import _file_mocap, random_pose, read_motion_files, rng_for

    src = tmp_path / "mine.bvh"
    shutil.copy(MOTIONS / "jog.bvh", src)
    files = read_motion_files([src])
    body = build_body("teen-girl", 10000, voxel=0.0067, repair=True)
    seen = []
    for i in range(40):
        with_files = random_pose(rng_for(3, 0, 2, i), body, files)[1]
        without = random_pose(rng_for(3, 0, 2, i), body)[1]
        assert with_files["source"].startswith(without["source"])
        if without["source"] != "motion":
            assert with_files == without
        seen.append(with_files)
    mine = [s for s in seen if s["source"] == "motion_file"]
    frames = _file_mocap(files[0])[1].num_frames  # all of the file's frames, its frame 1 too
    assert mine and all(s["name"] == "mine.bvh" and 0 <= s["frame"] < frames for s in mine), seen
    cfg = DatasetConfig(count=4, motions=files)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    assert cfg.to_dict()["motions"] == [{"name": "mine.bvh", "sha256": sha}]
    assert "motions" not in DatasetConfig(count=4).to_dict()  # manifests without files stay as they were
    assert DatasetConfig.from_dict(cfg.to_dict(), cfg.motion_data()) == cfg
    with pytest.raises(ValueError, match="does not match"):
        DatasetConfig.from_dict(cfg.to_dict(), (b"other bytes",))


@pytest.mark.slow
def test_motion_file_z_up_centimetres_gives_the_same_samples(tmp_path, gl):
    """A CMU clip and the same clip turned Z up in centimetres (units and up axis detected) give the
    same samples; the same file through the CLI and a local Ray worker gives the same bytes."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_bvh_files import scaled_text, z_up_text

    from kyara.dataset import DatasetConfig, iter_samples, read_manifest, write_dataset
    from kyara.dataset.sampling import read_motion_files
    from kyara.motion import BUILTIN_MOTIONS
    from kyara.motion.units import UNIT_SCALES

    text = (MOTIONS / "walk.bvh").read_text()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "walk.bvh").write_text(text)
    (tmp_path / "b" / "walk.bvh").write_text(scaled_text(z_up_text(text), UNIT_SCALES["cmu"] / 0.01))
    seed = _file_pose_seed(len(BUILTIN_MOTIONS))
    samples = {}
    for k in ("a", "b"):
        cfg = DatasetConfig(kind="poses", count=2, per_character=2, size=64, seed=seed, splits=(1.0, 0.0, 0.0),
                            motions=read_motion_files([tmp_path / k / "walk.bvh"]))
        write_dataset(cfg, tmp_path / f"ds_{k}", use_ray=False)
        samples[k] = list(iter_samples(tmp_path / f"ds_{k}", "train"))
    assert read_manifest(tmp_path / "ds_b")["args"]["motions"][0]["name"] == "walk.bvh"
    assert len(samples["a"]) == len(samples["b"]) == 2
    for a, b in zip(samples["a"], samples["b"]):
        pa, pb = a["meta"]["pose"], b["meta"]["pose"]
        assert pa["source"] == "motion_file" and pa["name"] == "walk.bvh"
        assert {k: pa[k] for k in ("source", "name", "frame")} == {k: pb[k] for k in ("source", "name", "frame")}
        assert np.allclose(pa["rotations_xyzw"], pb["rotations_xyzw"], atol=1e-5)
        assert np.allclose(pa["translation"], pb["translation"], atol=1e-5)
        assert np.mean(a["mask"] != b["mask"]) < 0.002
        assert np.abs(a["rgba"].astype(int) - b["rgba"].astype(int)).mean() < 0.5
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    r = _kyara(["dataset", "poses", "--count", "2", "--per-character", "2", "--size", "64", "--seed", str(seed),
                "--splits", "100,0,0", "--motion", str(tmp_path / "a" / "walk.bvh"), "-o", str(tmp_path / "ray"),
                "--workers", "1"], env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _tree(tmp_path / "ray") == _tree(tmp_path / "ds_a")


# -- Ray ------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _session_pids(sids: set[int]) -> list[int]:
    """Processes in the sessions our Ray nodes were started in (each node is a new session)."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            rest = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(rest[3]) in sids:
            out.append(int(p.name))
    return out


class LocalCluster:
    """A real Ray cluster on this machine: a head node and ``nodes - 1`` worker nodes, each a
    ``ray start --block`` process of this venv in its own session, 1 CPU each, token auth with a
    fresh token; :meth:`stop` kills exactly the processes of those sessions."""

    def __init__(self, nodes: int = 2, gpus: int = 0) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kr", dir="/tmp"))  # Ray's socket paths must stay short
        self.env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
                    "RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0"}
        self.procs: list[subprocess.Popen] = []
        port = _free_port()
        self.address = f"127.0.0.1:{port}"
        try:
            self._start("head", ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={self.dir}",
                                 f"--num-gpus={gpus}"])
            for i in range(nodes - 1):
                self._start(f"node{i}", [f"--address={self.address}", "--num-gpus=0"])
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, args: list[str]) -> None:
        log = self.dir / f"{name}.log"
        with open(log, "w") as fh:
            p = subprocess.Popen([str(RAY), "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                                  "--disable-usage-stats", *args], env=self.env, stdout=fh, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        self.procs.append(p)
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray start ({name}) did not come up: {log.read_text(errors='replace')[-800:]}")
            time.sleep(0.3)

    def stop(self) -> None:
        sids = {p.pid for p in self.procs}
        for pid in _session_pids(sids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(nodes=2)
    yield c
    c.stop()


def _kyara(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(KYARA), *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_cluster_run_with_a_dying_worker_equals_single_process(reference, cluster, tmp_path):
    """Both nodes make characters; one worker exits (os._exit) on its first attempt at a character,
    Ray retries it elsewhere, the driver's log says so, and the shards equal the single-process run."""
    from kyara.dataset.config import DatasetConfig, plan_characters

    victim = plan_characters(DatasetConfig(**CFG))[2].id
    marker = tmp_path / "crashed"
    env = {**cluster.env, "KYARA_DATASET_TEST_CRASH": f"{victim}:{marker}"}
    out = tmp_path / "ds"
    r = _kyara([*CLI, "-o", str(out), "--ray", cluster.address], env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _tree(out) == _tree(reference)
    per_node = next(ln for ln in r.stderr.splitlines() if "characters per node:" in ln)
    assert len(per_node.split(":", 1)[1].split(",")) == 2, per_node  # both nodes made characters
    crashed = marker.read_text()  # the pid that exited on its first attempt
    retried = [ln for ln in r.stderr.splitlines() if f"character {victim}: made on attempt 2" in ln]
    assert len(retried) == 1 and f"pid {crashed}" not in retried[0], r.stderr[-2000:]


@pytest.mark.slow
def test_killed_driver_resumes_without_rewriting_finished_shards(reference, cluster, tmp_path):
    out = tmp_path / "ds"
    p = subprocess.Popen([str(KYARA), *CLI, "-o", str(out), "--ray", cluster.address], env=cluster.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not list(out.glob("*.tar")) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    finished = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in out.glob("*.tar")}
    assert 1 <= len(finished) < 4, finished
    r = _kyara([*CLI, "-o", str(out), "--ray", cluster.address], cluster.env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resuming" in r.stderr and f"kept {len(finished)} finished" in r.stdout
    for name, stamp in finished.items():  # never rewritten
        assert ((out / name).stat().st_ino, (out / name).stat().st_mtime_ns) == stamp
    assert _tree(out) == _tree(reference)  # no partial file, identical bytes


@pytest.mark.slow
def test_cli_local_ray_instance(reference, tmp_path):
    """Without --ray the command starts (and stops) its own local Ray instance; character 0 alone
    makes the same first shard as in the reference (ids, splits and shards depend on the index)."""
    out = tmp_path / "ds"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    args = [a if a != "8" else "2" for a in CLI]  # --count 2: the first character only
    r = _kyara([*args, "-o", str(out), "--workers", "1"], env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("wrote 1 shards (2 samples, 1 characters)"), r.stdout
    assert sorted(_tree(out)) == ["manifest.json", "val-00000.tar"]  # character 0 is a val character
    assert (out / "val-00000.tar").read_bytes() == (reference / "val-00000.tar").read_bytes()
