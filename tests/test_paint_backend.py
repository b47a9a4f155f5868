"""kyara.paint.backend / avatar: the tiny diffusion model paints a character end to end.

The noise predictor is tested as a mechanism (classifier-free guidance, per-view ControlNet
conditions, the ControlNet window); the end-to-end runs use the synthetic export character, tiny
random models, 4 views of 64 px and 2 steps.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("xatlas")

from test_export_common import run_validator, synthetic_character  # noqa: E402


def _image(**kw):
    from kyara.generate.config import ControlSpec, ImageConfig

    base = dict(prompt="a girl in a red dress", model="tiny", steps=2, width=64, height=64, seed=0,
                controlnets=(ControlSpec("openpose", "tiny"), ControlSpec("depth", "tiny")))
    base.update(kw)
    return ImageConfig(**base)


@pytest.mark.slow
def test_predictor_guidance_and_per_view_conditions():
    """Each view's condition reaches only that view; the ControlNet acts inside its window only;
    guidance 1 is the conditional prediction alone."""
    from kyara.generate.config import ControlSpec
    from kyara.generate.prompts import encode_prompts
    from kyara.paint.backend import diffusion_predictor, load_painter

    img = _image(controlnets=(ControlSpec("openpose", "tiny", 1.0, 0.0, 0.5),))
    pipe, cns, xl = load_painter(img)
    emb = [encode_prompts(pipe, p, img.negative_prompt, 1) for p in ("front view of a girl", "back view of a girl")]
    rng = np.random.default_rng(0)
    cond = rng.integers(0, 255, (2, 64, 64, 3)).astype(np.uint8)
    x = rng.normal(size=(2, 4, 8, 8)).astype(np.float32)

    def run(c, guidance=7.5, step=0):
        return diffusion_predictor(pipe, cns, img.controlnets, emb, [c], guidance, 2, xl, 64)(x, 500, step)

    a = run(cond)
    assert a.shape == (2, 4, 8, 8) and np.all(np.isfinite(a))
    assert np.array_equal(a, run(cond))  # deterministic
    other = cond.copy()
    other[1] = 255 - other[1]
    b = run(other)
    assert np.array_equal(a[0], b[0]) and not np.allclose(a[1], b[1])  # view 1's condition, view 1 only
    assert np.array_equal(run(cond, step=1), run(other, step=1))  # after end=0.5 the ControlNet is off
    g1 = run(cond, guidance=1.0)
    assert not np.allclose(g1, a)


@pytest.mark.slow
def test_painter_loads_sdxl_single_files_lora_stacks_and_embeddings(tmp_path):
    """The painting predictor through kyara image's loaders: the SDXL family (pooled embeddings, size
    ids, its own ControlNet), a single-file checkpoint with a local config (the same predictions as
    its folder), a stack of two LoRAs ("anime" style at 0.8 and another; weight 0 = none) and a
    textual-inversion embedding in the negative prompt."""
    from kyara.generate.config import ControlSpec, LoraSpec
    from kyara.generate.prompts import encode_prompts
    from kyara.generate.tiny import tiny_model_dir, write_tiny_embedding, write_tiny_lora, write_tiny_single_file
    from kyara.paint.backend import diffusion_predictor, load_painter

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 8, 8)).astype(np.float32)
    cond = rng.integers(0, 255, (2, 64, 64, 3)).astype(np.uint8)

    def predict(img, cond_images=()):
        pipe, cns, xl = load_painter(img)
        emb = [encode_prompts(pipe, p, img.negative_prompt, 1, xl=xl) for p in ("front view of a girl",
                                                                                   "back view of a girl")]
        return diffusion_predictor(pipe, cns, img.controlnets, emb, list(cond_images), 7.5, 2, xl, 64)(x, 500, 0), xl

    xl_out, xl = predict(_image(model="tiny-sdxl", controlnets=(ControlSpec("openpose", "tiny-sdxl"),)), [cond])
    assert xl and xl_out.shape == x.shape and np.all(np.isfinite(xl_out))
    plain, xl = predict(_image(controlnets=()))
    assert not xl
    single = write_tiny_single_file(tmp_path / "anime_model.safetensors")
    same, _ = predict(_image(model=str(single), config=str(tiny_model_dir("tiny")), controlnets=()))
    assert np.allclose(same, plain, atol=1e-5)
    anime = write_tiny_lora(tmp_path / "anime_style.safetensors", seed=1)
    other = write_tiny_lora(tmp_path / "detail.safetensors", seed=2)
    zero, _ = predict(_image(controlnets=(), loras=(LoraSpec(str(anime), 0.0), LoraSpec(str(other), 0.0))))
    one, _ = predict(_image(controlnets=(), loras=(LoraSpec(str(anime), 0.8), LoraSpec(str(other), 0.0))))
    both, _ = predict(_image(controlnets=(), loras=(LoraSpec(str(anime), 0.8), LoraSpec(str(other), 1.0))))
    assert np.allclose(zero, plain, atol=1e-4)
    assert not np.allclose(one, plain, atol=1e-3) and not np.allclose(both, one, atol=1e-3)
    emb = write_tiny_embedding(tmp_path / "badhands.safetensors", vectors=2)
    ti, _ = predict(_image(controlnets=(), negative_prompt="badhands", embeddings=(str(emb),)))
    no_ti, _ = predict(_image(controlnets=(), negative_prompt="badhands"))
    assert not np.allclose(ti, no_ti, atol=1e-3)


@pytest.fixture(scope="module")
def painted(tmp_path_factory):
    from kyara.paint.avatar import paint_avatar
    from kyara.paint.backend import PaintConfig

    c = synthetic_character()
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        out = tmp_path_factory.mktemp(f"paint_{name}")
        cfg = PaintConfig(_image(seed=seed), views=4, texture_size=128, palette=6)
        ticks = []
        runs[name] = paint_avatar(c, cfg, out, size=96, turntable_frames=4, turntable_size=48,
                                  progress=lambda k, n: ticks.append((k, n)))
        runs[name].report["ticks"] = ticks
    return c, runs


@pytest.mark.slow
def test_end_to_end_writes_a_valid_painted_vrm(painted):
    from kyara.export.gltf import accessor_array, read_glb

    c, runs = painted
    res = runs["a"]
    names = {p.name for p in res.out_dir.iterdir()}
    assert {"texture.png", "avatar.vrm", "front.png", "side.png", "back.png", "turntable.gif", "views",
            "paint.json"} <= names
    assert not [n for n in names if ".tmp" in n]
    assert sorted(p.name for p in (res.out_dir / "views").iterdir()) == [f"view{k}.png" for k in range(4)]
    report = run_validator([res.out_dir / "avatar.vrm"])
    assert report[str(res.out_dir / "avatar.vrm")]["numErrors"] == 0, report
    gltf, binary = read_glb((res.out_dir / "avatar.vrm").read_bytes())
    assert {"painted_base", "painted_shade"} <= {t["name"] for t in gltf["textures"]}
    painted_meshes = 0
    for mesh in gltf["meshes"]:
        for prim in mesh["primitives"]:
            a = prim["attributes"]
            n = len(accessor_array(gltf, binary, a["POSITION"]))
            if "TEXCOORD_0" in a:  # split vertices carry skins (and morphs, below)
                uv = accessor_array(gltf, binary, a["TEXCOORD_0"])
                assert len(uv) == n == len(accessor_array(gltf, binary, a["JOINTS_0"]))
                assert uv.min() >= 0 and uv.max() <= 1
                painted_meshes += 1
    assert painted_meshes >= len(c.parts)
    eyelids = next(m for m in gltf["meshes"] if m["name"] == "eyelids")
    assert "blink" in eyelids["extras"]["targetNames"]
    rep = json.loads((res.out_dir / "paint.json").read_text())
    assert rep["views"] == 4 and 0.3 < rep["coverage"] <= 1.0 and rep["consistency_rgb"] is not None


@pytest.mark.slow
def test_same_seed_same_texture_other_seed_another(painted):
    """... and the progress callback (the command's progress bar) ticks once per denoising step."""
    _, runs = painted
    assert runs["a"].report["ticks"] == [(1, 2), (2, 2)]
    a, b, c = ((runs[k].out_dir / "texture.png").read_bytes() for k in "abc")
    assert a == b
    assert a != c


@pytest.mark.slow
def test_painted_islands_use_the_palette_and_have_no_holes(painted):
    from PIL import Image

    from kyara.paint.finish import island_map
    from kyara.paint.uv import character_atlas

    c, runs = painted
    tex = np.asarray(Image.open(runs["a"].out_dir / "texture.png").convert("RGB"))
    atlas, mesh = character_atlas(c, 128)  # xatlas is deterministic: the run's atlas
    isl = island_map(atlas, mesh["part_id"])
    for part in np.unique(isl[isl >= 0]):
        assert len(np.unique(tex[isl == part], axis=0)) <= 6, part
    assert np.all(tex[isl >= 0].max(axis=-1) > 0)  # no black holes


@pytest.mark.slow
def test_painted_avatar_animates_poses_prints_and_exports_like_any_other(painted, tmp_path):
    """The painted (UV-split) character with its texture: an animated GLB (the walk) with the painted
    base and shade textures passes the Khronos validator; the posed print (STL, colour ignored) is the
    same surface as the unpainted character's (same bounds and area: splitting moves no vertex); the
    painted previews carry the renderer's ink outline."""
    import trimesh
    from PIL import Image

    from kyara.character.model import SKIN_MATERIAL
    from kyara.export import ExportOptions, export_character
    from kyara.export.gltf import read_glb
    from kyara.paint.avatar import painted_character, shade_texture
    from kyara.paint.finish import island_map
    from kyara.paint.uv import character_atlas

    c, runs = painted
    tex = np.asarray(Image.open(runs["a"].out_dir / "texture.png").convert("RGB"))
    atlas, mesh = character_atlas(c, 128, cache=True)  # the run's atlas (cached, or rebuilt: deterministic)
    skin_parts = {k for k, p in enumerate(c.parts) if p.material.name == SKIN_MATERIAL}
    split, skin = painted_character(c, atlas, tex, shade_texture(tex, island_map(atlas, mesh["part_id"]), skin_parts))
    glb = export_character(split, "glb", tmp_path / "walk.glb", ExportOptions(motion="walk", paint=skin)).path
    report = run_validator([glb])
    assert report[str(glb)]["numErrors"] == 0, report
    gltf, _ = read_glb(glb.read_bytes())
    assert gltf.get("animations") and {"painted_base", "painted_shade"} <= {t["name"] for t in gltf["textures"]}
    prints = [trimesh.load(export_character(ch, "stl", tmp_path / f"{n}.stl", ExportOptions(pose="stand")).path)
              for n, ch in (("plain", c), ("painted", split))]
    assert np.allclose(prints[0].bounds, prints[1].bounds, atol=1e-6)
    assert prints[1].area == pytest.approx(prints[0].area, rel=1e-6)
    with pytest.raises(ValueError, match="glb and vrm"):
        export_character(split, "stl", tmp_path / "x.stl", ExportOptions(paint=skin))
    # the previews draw the renderer's toon outlines on top of the texture: the silhouette is ink
    from scipy import ndimage

    front = np.asarray(Image.open(runs["a"].out_dir / "front.png"))
    body = front[..., 3] > 0
    edge = body & ~ndimage.binary_erosion(body)
    value = front[..., :3].max(axis=-1)
    assert edge.sum() > 100 and (value[edge] < 60).mean() > 0.9
    assert (value[ndimage.binary_erosion(body, iterations=3)] < 60).mean() < 0.5


@pytest.mark.slow
def test_interrupt_leaves_no_files(tmp_path):
    from kyara.paint.avatar import paint_avatar
    from kyara.paint.backend import PaintConfig

    def stop(step, total):
        raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        paint_avatar(synthetic_character(), PaintConfig(_image(), views=4, texture_size=128), out, progress=stop)
    assert not out.exists()


@pytest.mark.slow
def test_interrupt_while_writing_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    """Ctrl-C after texture.png, avatar.vrm and the previews were written (in the turntable): the
    folder holds what it held before (create's files) and nothing of the painting, no temporary."""
    import kyara.render.video as video
    from kyara.paint.avatar import paint_avatar
    from kyara.paint.backend import PaintConfig

    out = tmp_path / "out"
    out.mkdir()
    (out / "character.json").write_text("{}")
    (out / "front.png").write_bytes(b"create's preview")
    written = []

    def interrupted(path, *a, **k):
        written.extend(sorted(p.name for p in path.parent.iterdir()))
        raise KeyboardInterrupt

    monkeypatch.setattr(video, "write_video", interrupted)
    with pytest.raises(KeyboardInterrupt):
        paint_avatar(synthetic_character(), PaintConfig(_image(), views=2, texture_size=128), out, size=64,
                     turntable_frames=2, turntable_size=32)
    assert {"texture.png", "avatar.vrm", "front.png", "back.png"} <= set(written)  # staged, then dropped
    assert sorted(p.name for p in out.iterdir()) == ["character.json", "front.png"]
    assert (out / "front.png").read_bytes() == b"create's preview"


@pytest.mark.slow
def test_three_vrm_loads_the_painted_avatar(painted):
    """three-vrm loads the painted VRM as any other: humanoid, MToon materials, springs, expressions
    that still move the (split) eyelids."""
    from test_export_common import run_three_vrm

    _, runs = painted
    vrm = str(runs["a"].out_dir / "avatar.vrm")
    r = run_three_vrm([{"vrm": vrm, "vrma": None}])[vrm]
    assert "error" not in r, r.get("error")
    assert r["console"] == [], r["console"]
    assert r["missingRequired"] == [] and len(r["humanBones"]) == 55
    assert r["mtoon"] > 0 and r["other"] == 0
    assert r["morphMove"]["blink"] == pytest.approx(0.004, abs=1e-5)


@pytest.mark.slow
def test_reference_attention_reaches_other_views_only_in_the_first_steps():
    """The front view's keys reach the other views' self-attention while the reference is on (step 0
    of 2 here), and not after; without the processors no view sees another; the U-Net gets its own
    processors back."""
    from kyara.generate.prompts import encode_prompts
    from kyara.paint.backend import diffusion_predictor, load_painter, reference_attention

    img = _image(controlnets=())
    pipe, cns, xl = load_painter(img)
    emb = [encode_prompts(pipe, p, img.negative_prompt, 1) for p in ("front view of a girl", "back view of a girl")]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 8, 8)).astype(np.float32)
    y = x.copy()
    y[0] = rng.normal(size=(4, 8, 8))  # another front view
    before = dict(pipe.unet.attn_processors)
    state, restore = reference_attention(pipe.unet)
    try:
        eps = diffusion_predictor(pipe, [], (), emb, [], 7.5, 2, xl, 64, reference=0, reference_steps=1,
                                  reference_state=state)
        on_x, on_y = eps(x, 500, 0), eps(y, 500, 0)
        off_x, off_y = eps(x, 500, 1), eps(y, 500, 1)
    finally:
        restore()
    assert not np.allclose(on_x[1], on_y[1])  # step 0: the back view reads the front view's keys
    assert np.allclose(off_x[1], off_y[1], atol=1e-6)  # step 1: it does not
    plain = diffusion_predictor(pipe, [], (), emb, [], 7.5, 2, xl, 64)
    assert np.allclose(plain(x, 500, 0)[1], plain(y, 500, 0)[1], atol=1e-6)
    assert np.allclose(plain(x, 500, 1), off_x, atol=1e-6)  # off = the plain U-Net
    assert {k: type(v) for k, v in pipe.unet.attn_processors.items()} == {k: type(v) for k, v in before.items()}


class KeyRecorder:
    """An attention processor that records, per call, each batch row's keys (``attn.to_k`` of what
    the row attends to) and the keys of the row's own tokens, then runs ``inner``."""

    def __init__(self, inner, log, name):
        self.inner, self.log, self.name = inner, log, name

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *a, **k):
        import torch

        with torch.no_grad():
            src = hidden_states if encoder_hidden_states is None else encoder_hidden_states
            own = attn.to_k(hidden_states).float() if ".attn1." in self.name else None  # attn2: text keys
            self.log.append((self.name, own, attn.to_k(src).float()))
        return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, *a, **k)


@pytest.mark.slow
def test_front_view_keys_reach_every_other_view_only_in_the_reference_steps():
    """Hooked at the attention processors of the tiny U-Net (3 views: front, side, back; 4 steps,
    reference for the first 2): in every self-attention layer at steps 0 and 1, the key set of each
    other view (its own keys and the ones appended) holds every one of the front view's keys, for
    the unconditional and the conditional halves of the guidance batch; at steps 2 and 3 no other
    view's key set holds any of them; cross-attention never sees them."""
    import torch

    from kyara.generate.prompts import encode_prompts
    from kyara.paint.backend import diffusion_predictor, load_painter, reference_attention

    img = _image(controlnets=())
    pipe, _, xl = load_painter(img)
    prompts = ("front view of a girl", "side view of a girl", "back view of a girl")
    emb = [encode_prompts(pipe, p, img.negative_prompt, 1) for p in prompts]
    x = np.random.default_rng(3).normal(size=(3, 4, 8, 8)).astype(np.float32)
    before = dict(pipe.unet.attn_processors)
    log: list = []
    pipe.unet.set_attn_processor({k: KeyRecorder(v, log, k) for k, v in before.items()})
    try:
        state, restore = reference_attention(pipe.unet)
        eps = diffusion_predictor(pipe, [], (), emb, [], 7.5, 4, xl, 64, reference=0, reference_steps=2,
                                  reference_state=state)
        found = {}
        for step in range(4):
            log.clear()
            eps(x, 700 - 150 * step, step)
            self_calls = [(n, own, keys) for n, own, keys in log if ".attn1." in n]
            assert self_calls and len(self_calls) == len([n for n in before if ".attn1." in n])
            hits = []
            for name, own, keys in self_calls:
                assert own.shape[0] == keys.shape[0] == 6  # [uncond x 3 views; cond x 3 views]
                for half in (0, 3):
                    front = own[half]  # [L, C] the front view's own keys
                    for other in (half + 1, half + 2):
                        d = (front[:, None] - keys[other][None]).norm(dim=-1).min(dim=1).values  # nearest key
                        hits.append(bool((d < 1e-4 * (1 + front.norm(dim=1))).all()))
                        assert torch.equal(keys[other][: own.shape[1]], own[other])  # its own keys first
            found[step] = hits
            text_len = emb[0]["prompt_embeds"].shape[1]
            assert all(keys.shape[1] == text_len for n, _, keys in log if ".attn2." in n)  # the prompt only
        restore()
    finally:
        pipe.unet.set_attn_processor(dict(before))  # (diffusers empties the dict it is given)
    assert all(found[0]) and all(found[1])  # every layer, every other view, both halves
    assert not any(found[2]) and not any(found[3])


@pytest.mark.slow
def test_front_and_back_on_one_canvas_in_the_first_steps():
    """front_back="canvas": in the first steps the front and back views' predictions are the halves of
    the U-Net run on the two latents side by side (computed here with the U-Net directly), so the
    back view's prediction depends on the front view's latent; the other views, and every view after
    those steps, are the plain per-view predictions."""
    import torch

    from kyara.generate.prompts import encode_prompts
    from kyara.paint.backend import canvas_predictor, canvas_prompt, diffusion_predictor, load_painter

    img = _image(controlnets=())
    pipe, _, xl = load_painter(img)
    prompts = ("front view of a girl", "side view of a girl", "back view of a girl")
    emb = [encode_prompts(pipe, p, img.negative_prompt, 1) for p in prompts]
    both = encode_prompts(pipe, canvas_prompt("a girl"), img.negative_prompt, 1)
    views = diffusion_predictor(pipe, [], (), emb, [], 1.0, 4, xl, 64)
    eps = canvas_predictor(views, diffusion_predictor(pipe, [], (), [both], [], 1.0, 4, xl, (64, 128)), 0, 2, 2)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4, 8, 8)).astype(np.float32)
    y = x.copy()
    y[0] = rng.normal(size=(4, 8, 8))  # another front view
    got = eps(x, 600, 0)
    with torch.no_grad():
        pair = torch.from_numpy(np.concatenate([x[0], x[2]], axis=-1)[None])
        want = pipe.unet(pair, torch.tensor([600]), encoder_hidden_states=both["prompt_embeds"]).sample[0].numpy()
    assert np.allclose(got[0], want[..., :8], atol=1e-5) and np.allclose(got[2], want[..., 8:], atol=1e-5)
    assert np.allclose(got[1], views(x, 600, 0)[1], atol=1e-6)
    assert not np.allclose(eps(y, 600, 1)[2], eps(x, 600, 1)[2], atol=1e-4)  # step 1: the back reads the front
    assert np.allclose(eps(y, 300, 2)[2], eps(x, 300, 2)[2], atol=1e-6)  # step 2: it does not
    assert np.allclose(eps(x, 300, 3), views(x, 300, 3), atol=1e-6)
    assert canvas_prompt("a girl") == "front view and back view of a girl, two views side by side"


@pytest.mark.slow
def test_painting_with_the_canvas_option_end_to_end():
    """paint_texture with front_back="canvas" (tiny model, 4 views, 2 steps, the canvas in step 0; the
    OpenPose and depth ControlNets take the two views' conditions side by side): a texture, another
    than with reference attention."""
    from kyara.paint.backend import PaintConfig, paint_texture

    c = synthetic_character()
    runs = {fb: paint_texture(c, PaintConfig(_image(), views=4, texture_size=128, front_back=fb,
                                              reference_fraction=0.5)) for fb in ("canvas", "reference")}
    a, b = runs["canvas"], runs["reference"]
    assert a.views.shape == b.views.shape == (4, 64, 64, 3) and np.isfinite(a.texture).all()
    assert not np.array_equal(a.texture, b.texture)
    with pytest.raises(ValueError, match="--front-back 'both'"):
        PaintConfig(_image(), front_back="both").check()


@pytest.mark.slow
def test_view_conditions_are_kyara_image_conditions(gl):
    """For the camera `kyara image --character` uses, the painting conditions are the very images
    kyara.generate.conditions draws (OpenPose with occlusion, depth, normal, lineart)."""
    from kyara.avatar import avatar_pose, character_body
    from kyara.generate.conditions import condition_images
    from kyara.paint.backend import view_conditions
    from kyara.pose.views import pose_camera

    c = synthetic_character()
    skel = character_body(c)
    pose = avatar_pose("stand", skel)
    cam = pose_camera(skel.pose(pose)[0], "front", (64, 64))
    kinds = ("openpose", "depth", "normal", "lineart")
    ours = view_conditions(c, pose, [cam, cam], kinds)
    theirs = condition_images(kinds, character=c, view="front", size=(64, 64))
    for k in kinds:
        assert ours[k].shape == (2, 64, 64, 3) and ours[k].dtype == np.uint8
        assert np.array_equal(ours[k][0], theirs[k]) and np.array_equal(ours[k][1], theirs[k]), k
        assert ours[k].any(), k
    with pytest.raises(ValueError, match="canny"):
        view_conditions(c, pose, [cam], ("canny",))
