"""The studio as a person uses it: headless Chromium (Debian's, driven by Playwright, WebGL on through
SwiftShader) against a real ``kyara studio`` server process.

Flow: create a character from a prompt -> Pose tab, pick ``jog``, move the elbow slider, the
preview changes; upload a reference picture, its detected skeleton sets the sliders -> generate
with model ``tiny``, the progress bar reaches 100% -> export and download the VRM (a valid GLB);
the 3D view (three.js + @pixiv/three-vrm) shows each exported file, the posed STL too.
The 3D view against kyara's preview of the same view: silhouette IoU and per-part lit colour
(CIEDE2000), the thresholds of the export's three-vrm look test (``tests/vrm_look.py``).
Screenshots of every tab go to ``docs/studio_*.png`` when ``KYARA_WRITE_DOCS=1`` (the README's
pictures), else to a temporary folder.
The Image tab's model picker starts empty and lists the server's ``--models`` folder (built here: a
diffusers folder, a single-file checkpoint, a LoRA and a pickle that are not offered) and ``tiny``;
Generate without a model says how to get one, under the button. One pose everywhere: an OpenPose JSON
upload sets the sliders and the depth (measured), and the Image tab's depth condition is that depth;
mirror + undo restore the exact pose; an error keeps every earlier output.
Faults and load: a corrupt PNG and a 20 MB upload give an error in the page and the server keeps
serving; files outside the output folder are refused; 10 concurrent generations complete.
Every request the page makes to a non-loopback host is blocked and fails the test.

The server runs with a stand-in for ``kyara.detect.detect`` (kyara's standing pose from the front, at
the picture's size: this tests the page, not a detector) and with ``KYARA_WEB_MODULES`` pointing at the npm
packages of ``tests/js``. Skipped only where Chromium or the Python ``playwright``/``gradio``
packages are missing (never in CI, where the set-up installs them).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" if os.environ.get("KYARA_WRITE_DOCS") == "1" else \
    Path(tempfile.mkdtemp(prefix="kyara-studio-shots-"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
WEB_MODULES = ROOT / "tests" / "js" / "node_modules"  # three + @pixiv/three-vrm (npm ci --prefix tests/js)
# the studio with a stand-in detector: kyara's own standing pose seen from the front, drawn to the picture's size
LAUNCH = """
import sys
import numpy as np
import kyara.detect
from kyara.detect.types import Detection
from kyara.pose.views import posed_keypoints_2d
def detect(image, backend="auto"):
    h, w = np.asarray(image).shape[:2]
    kp = posed_keypoints_2d("teen-girl", "stand", "front", (w, h)).body
    kp[:, 2] = np.where(kp[:, 2] > 0, 0.9, 0.0)
    return Detection(kp, np.zeros((h, w), np.float32), w, h, "kyara" if backend == "auto" else backend,
                     reason="stand-in detector" if backend == "auto" else "")
kyara.detect.detect = detect
from kyara.cli.main import main
sys.argv = ["kyara", *sys.argv[1:]]
main()
"""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
if not Path(CHROMIUM).exists() and os.environ.get("CI"):
    raise RuntimeError("CI must run the studio e2e test: /usr/bin/chromium is missing")
playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("gradio")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium is not installed", allow_module_level=True)
if not (WEB_MODULES / "@pixiv" / "three-vrm").is_dir():
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the studio e2e test: tests/js/node_modules (npm ci --prefix tests/js) is missing")
    pytest.skip("three.js / three-vrm are not installed in tests/js", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _models_folder(root: Path) -> Path:
    """A models folder as a user keeps one: a diffusers folder, a single-file checkpoint (its header
    names UNet weights), a LoRA beside it (not a base model) and a pickled checkpoint (never offered)."""
    from safetensors.numpy import save_file

    (root / "my-anime-model").mkdir()
    (root / "my-anime-model" / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    (root / "sd15").mkdir()
    save_file({"model.diffusion_model.out.0.weight": np.zeros(4, np.float32)}, str(root / "sd15" / "mine.safetensors"))
    save_file({"lora_unet_x.lora_down.weight": np.zeros(4, np.float32)}, str(root / "sd15" / "style_lora.safetensors"))
    (root / "old.ckpt").write_bytes(bytes(2**20 + 1))
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    out = tmp_path_factory.mktemp("studio")
    models = _models_folder(tmp_path_factory.mktemp("models"))
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", KYARA_WEB_MODULES=str(WEB_MODULES))
    log = open(out.parent / "studio.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "studio", "--port", str(port), "-o", str(out),
                             "--max-upload-mb", "16", "--models", str(models)], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"studio did not start: {(out.parent / 'studio.log').read_text()[-2000:]}")
            time.sleep(0.3)
    yield {"url": url, "out": out, "proc": proc}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page; any request to a non-loopback host is aborted and recorded."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    pg = ctx.new_page()
    external: list[str] = []

    def route(r):
        u = r.request.url
        if re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/", u) or u.startswith(("data:", "blob:")):
            r.continue_()
        else:
            external.append(u)
            r.abort()

    pg.route("**/*", route)
    pg.goto(server["url"])
    pg.wait_for_selector("#create-button", timeout=60_000)
    yield pg
    ctx.close()
    assert not external, f"the page tried to reach the network: {external[:5]}"


def _tab(pg, name: str) -> None:
    pg.get_by_role("tab", name=name).click()


def _wait_text(pg, selector: str, pattern: str, timeout_s: float = 120) -> str:
    loc = pg.locator(selector)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        text = loc.inner_text() if loc.count() else ""
        if re.search(pattern, text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{selector} never matched {pattern!r}; it shows {text!r}")


def _image_pixels(pg, selector: str) -> np.ndarray:
    from PIL import Image

    src = pg.locator(f"{selector} img").first.get_attribute("src")
    assert src, f"{selector} shows no image"
    data = pg.request.get(src).body()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.int16)


def _set_number(pg, elem_id: str, value) -> None:
    box = pg.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def _check_glb(data: bytes) -> dict:
    assert len(data) > 20 and data[:4] == b"glTF", "not a binary glTF"
    version, length = struct.unpack_from("<II", data, 4)
    assert version == 2 and length == len(data)
    chunk_len, chunk_type = struct.unpack_from("<II", data, 12)
    assert chunk_type == 0x4E4F534A  # "JSON"
    return json.loads(data[20:20 + chunk_len])


def _error_toast(pg, pattern: str, timeout_s: float = 30) -> str:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        body = pg.locator("body").inner_text()
        m = re.search(pattern, body)
        if m:
            return m.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no error matching {pattern!r} appeared in the page")


def _viewer(pg, elem_id: str, name: str, timeout_s: float = 90):
    """The frame of the 3D view ``#elem_id`` once it shows the file ``name`` (loaded, no error)."""
    deadline = time.time() + timeout_s
    seen = None
    while time.time() < deadline:
        handle = pg.locator(f"#{elem_id} iframe").element_handle(timeout=30_000)
        fr = handle.content_frame()
        try:
            seen = fr.evaluate("() => JSON.parse(document.getElementById('kyara-config').textContent).name")
            state = fr.evaluate("() => window.kyaraViewer ? [window.kyaraViewer.info, window.kyaraViewer.error] : null")
        except playwright_api.Error:  # the view was replaced while we looked
            time.sleep(0.3)
            continue
        if seen == name and state is not None and (state[0] or state[1]):
            assert state[1] is None, f"the 3D view could not show {name}: {state[1]}"
            return fr, state[0]
        time.sleep(0.3)
    raise AssertionError(f"#{elem_id} never showed {name} (it shows {seen!r})")


def _capture(fr, opts: str = "{}") -> np.ndarray:
    """The 3D view's current picture ``[H, W, 4]`` (transparent background), see kyara/studio/viewer.py."""
    from PIL import Image

    url = fr.evaluate(f"() => window.kyaraViewer.capture({opts})")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))


def _pick_model(pg, label: str) -> None:
    """Choose ``label`` in the Image tab's model picker."""
    pg.locator("#image-model input").first.click()
    pg.get_by_role("option", name=label, exact=True).click()
    pg.locator("#image-model input").first.blur()


def _wait_pixels_change(pg, selector: str, before: np.ndarray | None, timeout_s: float = 60) -> np.ndarray:
    """The picture of ``selector`` once it differs from ``before`` (or once there is one)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            now = _image_pixels(pg, selector)
        except AssertionError:
            now = None
        if now is not None and (before is None or now.shape != before.shape or np.abs(now - before).max() > 0):
            return now
        time.sleep(0.3)
    raise AssertionError(f"{selector} never changed")


def _slider_values(pg) -> dict[str, float]:
    ids = pg.locator("[id^=pose-] input[type=number]").evaluate_all(
        "els => els.map((e) => [e.closest('[id^=pose-]').id, Number(e.value)])")
    return dict(ids)


# kyara's ``jog`` on the bare body seen from azimuth 30 (orthographic, 160 px per metre), right of the
# centre of a 512x384 canvas: COCO-18 (x, y) pixels, computed once with kyara.pose.keypoints.body_keypoints
JOG_30 = [298.1, 134.0, 308.4, 159.2, 286.9, 159.7, 271.6, 195.9, 260.0, 173.6, 329.8, 158.7, 350.7, 188.9,
          338.5, 212.2, 300.4, 217.9, 311.3, 277.2, 348.8, 266.1, 321.5, 217.9, 295.3, 262.9, 298.8, 324.5,
          292.6, 128.0, 305.0, 126.8, 291.9, 126.9, 319.9, 125.4]


def _pose_json(path: Path) -> Path:
    """An OpenPose JSON (pixels, with its canvas) of :data:`JOG_30`."""
    kp = np.c_[np.reshape(JOG_30, (18, 2)), np.ones(18)]
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": kp.ravel().tolist()}],
                                "canvas_width": 512, "canvas_height": 384}))
    return path


def test_create_pose_generate_export(page, server, tmp_path):
    pg = page
    DOCS.mkdir(exist_ok=True)
    # -- Create
    pg.locator("#create-prompt textarea").fill("an anime girl with short blue hair in a school uniform")
    pg.locator("#create-button").click()
    _wait_text(pg, "#create-status", r"created in", 180)
    assert pg.locator("#create-front img").count() == 1
    spec = pg.locator("#create-spec").inner_text()
    assert "blue" in spec and "uniform" in spec.lower()
    fr, info = _viewer(pg, "create-view3d", "avatar.vrm")
    assert info["kind"] == "vrm" and info["meshes"] > 5, info
    assert (_capture(fr)[..., 3] > 127).mean() > 0.03  # the character, not a blank canvas
    pg.screenshot(path=str(DOCS / "studio_create.png"), full_page=True)

    # -- Pose: pick jog, then move the elbow; the preview follows
    _tab(pg, "Pose")
    _wait_text(pg, "#pose-status", r"pose: stand", 120)
    pg.locator("#pose-preset input").click()
    pg.get_by_role("option", name="jog", exact=True).click()
    _wait_text(pg, "#pose-status", r"pose: jog$", 60)
    elbow = pg.locator("#pose-l_elbow input[type=number]")
    assert abs(float(elbow.input_value()) - 90) < 1  # jog bends the elbows 90 degrees
    before_op = _image_pixels(pg, "#pose-openpose")
    before_toon = _image_pixels(pg, "#pose-toon")
    pg.locator("#pose-l_elbow input[type=range]").fill("10")
    _wait_text(pg, "#pose-status", r"pose: jog \(edited\)", 60)
    deadline = time.time() + 30
    while time.time() < deadline:
        after_toon = _image_pixels(pg, "#pose-toon")
        if np.abs(after_toon - before_toon).max(axis=2).astype(bool).mean() > 0.002:
            break
        time.sleep(0.3)
    after_op = _image_pixels(pg, "#pose-openpose")
    changed_toon = (np.abs(after_toon - before_toon).max(axis=2) > 30).mean()
    changed_op = (np.abs(after_op - before_op).max(axis=2) > 30).mean()
    assert changed_toon > 0.002 and changed_op > 0.001, (changed_toon, changed_op)
    pg.screenshot(path=str(DOCS / "studio_pose.png"), full_page=True)
    down = pg.locator("#pose-download a").first
    with pg.expect_download() as dl:
        down.click()
    pose_json = json.loads(Path(dl.value.path()).read_text())
    assert len(pose_json["people"][0]["pose_keypoints_2d"]) == 54
    # a reference picture: the (stand-in) detector's skeleton over it, the sliders fitted to it
    from PIL import Image

    ref = tmp_path / "reference.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (400, 300, 3), dtype=np.uint8)).save(ref)
    pg.locator("#pose-upload-reference input[type=file]").set_input_files(str(ref))
    _wait_text(pg, "#pose-status", r"reference reference\.png: 18/18 joints found by the kyara detector "
                                   r"\(stand-in detector\); sliders fitted", 120)
    assert _image_pixels(pg, "#pose-reference").shape[:2] == (400, 300)
    assert _image_pixels(pg, "#pose-openpose").shape[:2] == (400, 300)  # the detected skeleton is the condition
    assert abs(float(pg.locator("#pose-azimuth input[type=number]").input_value())) < 45  # seen from the front
    assert float(pg.locator("#pose-l_knee input[type=number]").input_value()) < 30  # straight legs, not jog's

    # -- Image: tiny model, openpose ControlNet from the Pose tab, progress to 100%
    _tab(pg, "Image")
    _pick_model(pg, "tiny (noise: for testing)")
    _set_number(pg, "image-steps", 20)  # the lowest of PoseAnimeFlow's range (the slider's default range)
    _set_number(pg, "image-width", 64)
    _set_number(pg, "image-height", 64)
    pg.evaluate("""() => { window.__pct = [];
        const target = document.querySelector('#image-progress');
        new MutationObserver(() => { const el = target.querySelector('.kyara-progress');
            if (el) window.__pct.push(Number(el.dataset.pct)); })
          .observe(target, {subtree: true, childList: true, attributes: true}); }""")
    pg.locator("#image-generate").click()
    _wait_text(pg, "#image-status", r"wrote 1 image", 180)
    pg.wait_for_function("() => document.querySelector('#image-progress .kyara-progress').dataset.pct === '100'")
    seen = pg.evaluate("window.__pct")
    steps = [p for p in seen if 0 < p < 100]
    assert seen[-1] == 100 and steps, f"progress values seen: {seen}"
    assert steps == sorted(steps)
    assert pg.locator("#image-gallery img").count() >= 1
    assert not pg.locator("#image-size-auto input").is_checked()  # the width/height set above won
    # the preview arrives with the final update, which the page may draw after the status line: wait for it
    pg.wait_for_function("() => { const i = document.querySelector('#image-preview img');"
                         " return !!(i && i.getAttribute('src') && i.complete && i.naturalWidth > 0); }",
                         timeout=30000)
    assert _image_pixels(pg, "#image-preview").shape[:2] == (256, 256)  # the last step's latent, 8x8 x32
    pg.screenshot(path=str(DOCS / "studio_image.png"), full_page=True)
    # missing weights: the CLI's one-line message, inside the page
    box = pg.locator("#image-model input").first
    box.fill("someone/not-downloaded")
    box.press("Enter")
    box.blur()
    pg.locator("#image-generate").click()
    text = _wait_text(pg, "#image-status", r"error: model 'someone/not-downloaded' is not in the local cache", 60)
    assert "\n" not in text.strip()
    assert pg.locator("#image-gallery img").count() >= 1  # the last good image stays on screen

    # -- Animate (small and short, for the screenshot and the conditions download)
    _tab(pg, "Animate")
    _set_number(pg, "animate-size", 128)
    _set_number(pg, "animate-fps", 6)
    pg.locator("#animate-button").click()
    _wait_text(pg, "#animate-status", r"\d+ frames", 120)
    assert pg.locator("#animate-files a").count() == 2  # the video and the conditions zip
    pg.screenshot(path=str(DOCS / "studio_animate.png"), full_page=True)

    # -- Export: VRM download is a valid GLB; the 3D view shows every file just written
    _tab(pg, "Export")
    pg.locator("#export-vrm").click()
    _wait_text(pg, "#export-status", r"wrote avatar.vrm", 120)
    with pg.expect_download() as dl:
        pg.locator("#export-file a").first.click()
    gltf = _check_glb(Path(dl.value.path()).read_bytes())
    assert "VRMC_vrm" in gltf.get("extensionsUsed", [])
    fr, info = _viewer(pg, "export-view3d", "avatar.vrm")
    assert info["kind"] == "vrm"
    pg.locator("#export-stl").click()
    _wait_text(pg, "#export-status", r"wrote avatar_print.stl", 120)
    fr, info = _viewer(pg, "export-view3d", "avatar_print.stl")  # the posed STL, as downloaded
    shown = _capture(fr)[..., 3] > 127
    assert info["kind"] == "stl" and shown.mean() > 0.03
    rows, cols = np.flatnonzero(shown.any(axis=1)), np.flatnonzero(shown.any(axis=0))
    assert rows[-1] - rows[0] > 1.5 * (cols[-1] - cols[0])  # standing up (the print file is Z up)
    pg.locator("#export-obj").click()  # the view loads no OBJ: the same posed vertices as a GLB beside it
    _wait_text(pg, "#export-status", r"wrote avatar_posed.obj", 120)
    fr, info = _viewer(pg, "export-view3d", "view_posed.glb")
    assert info["kind"] == "gltf" and (_capture(fr)[..., 3] > 127).mean() > 0.03
    pg.locator("#export-vrm0").click()
    _wait_text(pg, "#export-status", r"wrote avatar_vrm0.vrm", 120)
    fr, info = _viewer(pg, "export-view3d", "avatar_vrm0.vrm")
    assert info["kind"] == "vrm" and (_capture(fr)[..., 3] > 127).mean() > 0.03
    pg.locator("#export-glb").click()
    _wait_text(pg, "#export-status", r"wrote avatar.glb", 120)
    fr, info = _viewer(pg, "export-view3d", "avatar.glb")
    assert info["kind"] == "gltf" and (_capture(fr)[..., 3] > 127).mean() > 0.03
    links = pg.locator("#export-file a").evaluate_all("els => els.map((e) => e.getAttribute('href'))")
    names = [h.rsplit("/", 1)[-1] for h in links]  # every export of the session, newest first
    assert names[0] == "avatar.glb" and len(names) == 6 and "avatar_posed.mtl" in names, names
    pg.screenshot(path=str(DOCS / "studio_export.png"), full_page=True)


def test_3d_view_shows_what_the_preview_shows(page, server):
    """The Create tab's 3D view (three.js + three-vrm, the exported VRM) with the camera of kyara's
    preview: what the canvas shows against the preview of the same view, by the thresholds of the
    export's look test (silhouette IoU >= 0.95, 0.93 for the face close-up; per-part lit colour
    CIEDE2000 < 10; the irises show)."""
    from PIL import Image
    from vrm_look import DEMO_PROMPT, compare_look, erode, front_cameras, iris_fraction, iris_part, preview_and_jobs

    from kyara.avatar import load_character
    from kyara.character.colors import delta_e2000, srgb_to_lab
    from kyara.studio.viewer import BACKGROUND

    pg = page
    pg.locator("#create-prompt textarea").fill(DEMO_PROMPT)
    pg.locator("#create-button").click()
    _wait_text(pg, "#create-status", r"created in", 180)
    fr, info = _viewer(pg, "create-view3d", "avatar.vrm")
    made = [p for p in server["out"].rglob("create-*/character.json") if DEMO_PROMPT in p.read_text()]
    path = max(made, key=lambda p: p.stat().st_mtime)
    c = load_character(path)  # the same spec builds the same character here
    names = [p.name for p in c.parts]
    eyes = iris_part(c)
    iris_colours = np.unique(np.round(eyes.colors * 255), axis=0) / 255.0
    white = srgb_to_lab(np.array([0.98, 0.98, 1.0]))
    iris_colours = iris_colours[delta_e2000(srgb_to_lab(iris_colours), white) > 25]
    summary = {}
    for view, cam in front_cameras(c).items():
        preview, style, jobs = preview_and_jobs(c, {"vrm": path.with_name("avatar.vrm")}, cam)
        fr.evaluate("(job) => window.kyaraViewer.setView(job)", jobs[0])
        on_screen = pg.frame_locator("#create-view3d iframe").locator("#view").screenshot()
        screen = np.asarray(Image.open(io.BytesIO(on_screen)).convert("RGB"), np.float64)
        color, surface, ids = _capture(fr), _capture(fr, "{outlines: false}"), _capture(fr, "{ids: true}")
        assert color.shape[:2] == (cam.height, cam.width)
        # what the page shows is what is measured: the capture over the view's background (the element's
        # screenshot may hold one more row or column where the page puts it at a fractional position)
        sh, sw = screen.shape[0] - cam.height, screen.shape[1] - cam.width
        assert 0 <= sh <= 1 and 0 <= sw <= 1, screen.shape
        a = color[..., 3:] / 255.0
        composed = color[..., :3] * a + np.array(BACKGROUND) * 255.0 * (1 - a)
        diff = min((np.abs(screen[y:y + cam.height, x:x + cam.width] - composed).max(axis=2)
                    for y in range(sh + 1) for x in range(sw + 1)), key=lambda d: d.mean())
        assert diff.mean() < 2.0 and (diff > 24).mean() < 0.01, (diff.mean(), (diff > 24).mean())
        png = lambda img: base64.b64encode(_png_bytes(img)).decode()  # noqa: E731
        res = compare_look(preview, style, {"color": png(color), "surface": png(surface), "ids": png(ids)}, names)
        summary[view] = {"iou": round(res["iou"], 4), **{k: round(v["median_de"], 2) for k, v in res["parts"].items()}}
        face = view == "face"
        assert res["iou"] >= (0.93 if face else 0.95), (view, res["iou"])
        must = ("body", eyes.name, "brows", "hair_cap") if face else ("body", "hair_cap", "hair_strands", "kimono")
        for name in must:
            assert name in res["parts"], (view, name, sorted(res["parts"]))
        for name, r in res["parts"].items():
            assert r["median_de"] < 10, (view, name, r)
        if face:  # the irises show their colour in the 3D view as in the preview
            k = names.index(eyes.name)
            region = erode((preview["parts"][..., 0] == k) & (res["ids"] == k))
            mine = iris_fraction(res["lab_preview"], region, iris_colours)
            theirs = iris_fraction(res["lab_viewer"], region, iris_colours)
            assert mine > 0.5 and theirs > 0.8 * mine, (mine, theirs)
    print(json.dumps(summary, indent=1))
    fr.evaluate("() => window.kyaraViewer.frame()")  # back to the orbit view


def _png_bytes(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_bad_uploads_and_paths(page, server, tmp_path):
    pg = page

    def pose_tab():
        pg.reload()
        pg.wait_for_selector("#create-button", timeout=60_000)
        _tab(pg, "Pose")
        _wait_text(pg, "#pose-status", r"pose: stand", 120)

    pose_tab()
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    pg.locator("#pose-upload-image input[type=file]").set_input_files(str(corrupt))
    _error_toast(pg, r"error: upload 'corrupt\.png' is a corrupt image")
    pose_tab()
    big = tmp_path / "big.png"
    big.write_bytes(np.random.default_rng(0).integers(0, 256, 20 * 2**20, dtype=np.uint8).tobytes())
    pg.locator("#pose-upload-image input[type=file]").set_input_files(str(big))
    _error_toast(pg, r"exceed the maximum allowed size of 16(\.0)? Mb")
    import httpx  # the server refuses it too, whoever sends it

    r = httpx.post(server["url"] + "gradio_api/upload", files={"files": ("big.png", big.read_bytes())}, timeout=60)
    assert r.status_code in (400, 413), r.status_code
    pose_tab()
    not_json = tmp_path / "pose.json"
    not_json.write_text("this is not json")
    pg.locator("#pose-upload-json input[type=file]").set_input_files(str(not_json))
    _error_toast(pg, r"error: upload 'pose\.json' is not JSON text")
    # the server still serves, and the page still works
    assert urllib.request.urlopen(server["url"], timeout=10).status == 200
    pg.locator("#pose-r_knee input[type=range]").fill("60")
    _wait_text(pg, "#pose-status", r"\(edited\)", 60)

    # files: only under the output folder
    base = server["url"] + "gradio_api/file="
    for outside in ("/etc/passwd", str(ROOT / "pyproject.toml"), str(server["out"]) + "/../studio.log"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + outside, timeout=10)
        assert err.value.code in (403, 404), outside
    inside = next(server["out"].rglob("openpose.png"))
    assert urllib.request.urlopen(base + str(inside), timeout=10).status == 200


def test_ten_concurrent_generations(server):
    from gradio_client import Client

    client = Client(server["url"], verbose=False)
    names = [p["api_name"] if isinstance(p, dict) else p for p in client.view_api(print_info=False,
                                                                                   return_format="dict")
             ["named_endpoints"]]
    assert "/generate" in names
    args = dict(p="1girl", neg="", m="tiny", c="openpose", cm="default", s=1.0, lo="", n=20, g=7.5, sch="euler-a",
                b=1, w=64, h=64)

    def one(seed: int):
        c = Client(server["url"], verbose=False)
        job = c.submit(args["p"], args["neg"], args["m"], args["c"], args["cm"], args["s"], args["lo"], args["n"],
                       args["g"], args["sch"], seed, args["b"], args["w"], args["h"], "auto", "none", False,
                       api_name="/generate")
        return job.result(timeout=300)

    t0 = time.time()
    with ThreadPoolExecutor(10) as ex:
        results = list(ex.map(one, range(10)))
    for bar, status, gallery, files, *_ in results:
        assert status.startswith("wrote 1 image"), status
        assert 'data-pct="100"' in bar
        assert len(gallery) == 1
    assert time.time() - t0 < 300


def test_no_model_at_first_and_generate_says_how_to_get_one(page):
    """The model field starts empty; Generate without a model shows the guide's message under the button
    (not a traceback, not only a toast); the picker lists the smoke-test model as noise."""
    pg = page
    _tab(pg, "Image")
    box = pg.locator("#image-model input").first
    assert box.input_value() == ""
    guide = pg.locator("#image-model-guide").inner_text()
    assert "stablediffusionapi/anything-v5" in guide and "hf download" in guide
    pg.locator("#image-generate").click()
    text = _wait_text(pg, "#image-status", r"No model selected", 30)
    assert "hf download" in text and "Traceback" not in text and "error" not in text.lower()
    button, status = pg.locator("#image-generate").bounding_box(), pg.locator("#image-status").bounding_box()
    assert 0 <= status["y"] - (button["y"] + button["height"]) < 120, (button, status)  # next to the button
    box.click()
    options = pg.get_by_role("option").all_inner_texts()
    # the models folder (kyara studio --models) first, then the cache, then the smoke-test model
    assert options[:2] == ["my-anime-model (folder)", "sd15/mine.safetensors (single file)"], options
    assert options[-1] == "tiny (noise: for testing)" and not any("lora" in o or "ckpt" in o for o in options)
    assert "1 pickled checkpoint" in pg.locator("#image-model-guide").inner_text()
    pg.get_by_role("option", name="my-anime-model (folder)", exact=True).click()  # not a whole pipeline:
    box.blur()  # one line naming it, no server folder
    pg.locator("#image-generate").click()
    text = _wait_text(pg, "#image-status", r"error: model folder 'my-anime-model' has no unet", 30)
    assert "/" not in text and "models0" not in text, text
    # the character's description as the prompt: before Create there is none, said next to the button
    pg.locator("#image-use-character").click()
    _wait_text(pg, "#image-prompt-status", r"error: no character yet", 30)
    assert pg.locator("#image-gallery img").count() == 0


def test_uploaded_openpose_json_is_the_pose_everywhere(page, tmp_path):
    """An OpenPose JSON sets the sliders by IK and the depth condition comes from it (measured before and
    after); a bad upload after it keeps every output and names the user's own file."""
    pg = page
    _tab(pg, "Pose")
    _wait_text(pg, "#pose-status", r"pose: stand", 120)
    depth0 = _image_pixels(pg, "#pose-depth")
    assert depth0.shape[:2] == (384, 384)
    src = _pose_json(tmp_path / "my jog.json")
    t0 = time.time()
    pg.locator("#pose-upload-json input[type=file]").set_input_files(str(src))
    _wait_text(pg, "#pose-upload-status", r"OpenPose JSON my jog\.json loaded.*sliders fitted", 60)
    depth1 = _wait_pixels_change(pg, "#pose-depth", depth0)
    assert depth1.shape[:2] == (384, 512)  # the upload's canvas
    lit = depth1.max(axis=2) > 0
    assert lit.mean() > 0.02  # the fitted body, not black
    cols = np.flatnonzero(lit.any(axis=0))
    assert 0.6 * 512 - 40 < cols.mean() < 0.6 * 512 + 40  # on the uploaded figure (right of centre)
    vals = _slider_values(pg)
    assert vals["pose-l_elbow"] > 45 and vals["pose-r_elbow"] > 45, vals  # jog's elbows, fitted
    assert not pg.locator("#pose-l_elbow input[type=range]").is_disabled()
    assert (vals["pose-width"], vals["pose-height"]) == (512, 384)  # the canvas follows the upload's
    print(f"json upload to fitted depth: {time.time() - t0:.1f} s")
    # an error after a good upload: the previous outputs stay, the message names the user's file
    op = _image_pixels(pg, "#pose-openpose")
    bad = tmp_path / "broken picture.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    pg.locator("#pose-upload-reference input[type=file]").set_input_files(str(bad))
    text = _wait_text(pg, "#pose-status", r"error: upload 'broken picture\.png' is a corrupt image", 30)
    assert "/tmp" not in text and "gradio" not in text
    time.sleep(1.0)
    assert np.array_equal(_image_pixels(pg, "#pose-depth"), depth1)
    assert np.array_equal(_image_pixels(pg, "#pose-openpose"), op)
    assert _slider_values(pg) == vals
    assert "broken picture.png" in pg.locator("#pose-status").inner_text()  # still there, not a passing toast


def test_mirror_and_undo_restore_the_exact_pose(page):
    pg = page
    _tab(pg, "Pose")
    _wait_text(pg, "#pose-status", r"pose: stand", 120)
    _set_number(pg, "pose-width", 512)  # the canvas size
    op = _wait_pixels_change(pg, "#pose-openpose", None)
    deadline = time.time() + 30
    while op.shape[1] != 512 and time.time() < deadline:
        op = _image_pixels(pg, "#pose-openpose")
    assert op.shape[:2] == (384, 512)
    pg.locator("#pose-l_elbow input[type=range]").fill("70")
    pg.locator("#pose-head_turn input[type=range]").fill("30")
    _wait_text(pg, "#pose-status", r"\(edited\)", 60)
    deadline = time.time() + 30
    while _slider_values(pg)["pose-head_turn"] != 30 and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # the last slider event's render
    before, op0 = _slider_values(pg), _image_pixels(pg, "#pose-openpose")
    pg.locator("#pose-mirror").click()
    _wait_text(pg, "#pose-status", r"mirrored", 30)
    m = _slider_values(pg)
    assert m["pose-r_elbow"] == before["pose-l_elbow"] == 70 and m["pose-l_elbow"] == before["pose-r_elbow"]
    assert m["pose-head_turn"] == -30 and m["pose-azimuth"] == -before["pose-azimuth"]
    op1 = _wait_pixels_change(pg, "#pose-openpose", op0)
    assert np.abs(op1 - op0).max() > 0
    pg.locator("#pose-undo").click()
    _wait_text(pg, "#pose-status", r"undone", 30)
    assert _slider_values(pg) == before
    op2 = _wait_pixels_change(pg, "#pose-openpose", op1)
    assert np.array_equal(op2, op0)  # the exact pose again, drawn the same
    _tab(pg, "Image")  # leaving the tab and coming back shows the session's pose as it is
    _tab(pg, "Pose")
    time.sleep(1.0)
    assert _slider_values(pg) == before and np.array_equal(_image_pixels(pg, "#pose-openpose"), op0)


def test_the_image_tabs_depth_condition_is_the_uploaded_pose(page, tmp_path):
    """One pose everywhere: after an OpenPose JSON upload the Image tab's depth condition (what a depth
    ControlNet gets, shown beside the pose reference) is the depth of the fitted pose the Pose tab shows,
    pixel for pixel (that generation uses this file: tests/test_studio_pose_edit.py)."""
    pg = page
    _tab(pg, "Pose")
    _wait_text(pg, "#pose-status", r"pose: stand", 120)
    pg.locator("#pose-upload-json input[type=file]").set_input_files(str(_pose_json(tmp_path / "jog.json")))
    _wait_text(pg, "#pose-upload-status", r"sliders fitted", 60)
    shown = _wait_pixels_change(pg, "#pose-depth", None)
    deadline = time.time() + 30
    while shown.shape[:2] != (384, 512) and time.time() < deadline:
        shown = _image_pixels(pg, "#pose-depth")
    _tab(pg, "Image")
    op = _wait_pixels_change(pg, "#image-condition", None)  # openpose first: the uploaded drawing
    assert op.shape[:2] == (384, 512)
    pg.locator("#image-control label", has_text="depth").click()
    used = _wait_pixels_change(pg, "#image-condition", op)
    assert np.array_equal(used, shown)  # the uploaded pose's depth, not the slider pose's
