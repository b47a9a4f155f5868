"""The studio's 3D view: three.js + @pixiv/three-vrm in the page, showing the exported file itself
(VRM with its MToon materials, GLB, STL), lit as kyara's previews are lit (no gradio import).

The JavaScript packages come from npm (``three`` and ``@pixiv/three-vrm``, pinned in
``kyara/studio/web/package.json`` to the versions the tests use in ``tests/js``); the studio serves
them from a ``node_modules`` folder it finds with :func:`find_web_modules` (``StudioConfig.web_modules``,
the ``KYARA_WEB_MODULES`` variable, or ``kyara/studio/web/node_modules`` after
``npm ci --prefix kyara/studio/web``). Without them the Export tab keeps gradio's GLB viewer.

The view lives in an ``<iframe srcdoc>`` (its own import map), so it needs nothing from the page:
:func:`viewer_html` returns that iframe for a ``gr.HTML``. Inside it ``window.kyaraViewer`` offers
``ready`` (a Promise), ``info``, ``setView({width, height, view, proj, light})`` (fixed camera
matrices, column-major as three.js reads them, and a world-space light: the same view as a kyara
preview), ``frame()`` (back to the orbit view) and ``capture({outlines, ids})`` (a PNG data URL
with a transparent background; ``ids`` draws each glTF mesh flat in the colour of its index + 1:
R = 4 (id % 64), G = 4 (id // 64)). Spring bones and expressions stay at rest (nothing animates,
so an idle view costs no CPU).
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from urllib.parse import quote

REQUIRED = (  # the files the view imports, relative to node_modules
    "three/build/three.module.js",
    "three/build/three.core.js",
    "three/examples/jsm/loaders/GLTFLoader.js",
    "three/examples/jsm/loaders/STLLoader.js",
    "three/examples/jsm/controls/OrbitControls.js",
    "@pixiv/three-vrm/lib/three-vrm.module.js",
)
SERVED = ("three/build", "three/examples/jsm", "@pixiv/three-vrm/lib")  # folders the server may serve
BUNDLED = Path(__file__).parent / "web" / "node_modules"
VIEW_HEIGHT = 560  # CSS pixels
BACKGROUND = (0.95, 0.95, 0.96)  # sRGB, as the GLB viewer's
FOVY_DEG = 40.0  # as kyara's preview cameras
KINDS = {".vrm": "gltf", ".glb": "gltf", ".gltf": "gltf", ".stl": "stl"}


def find_web_modules(explicit: str | os.PathLike | None = None) -> Path | None:
    """The ``node_modules`` folder holding every file of :data:`REQUIRED`: ``explicit``, else
    ``$KYARA_WEB_MODULES``, else :data:`BUNDLED`; None when none does (an explicit folder that lacks
    them raises ``ValueError``)."""
    if explicit is not None:
        p = Path(explicit)
        missing = [f for f in REQUIRED if not (p / f).is_file()]
        if missing:
            raise ValueError(f"web modules folder '{p}' lacks {missing[0]}, expected a node_modules folder with "
                             "three and @pixiv/three-vrm")
        return p.resolve()
    for cand in (os.environ.get("KYARA_WEB_MODULES"), BUNDLED):
        if cand and all((Path(cand) / f).is_file() for f in REQUIRED):
            return Path(cand).resolve()
    return None


def served_dirs(modules: Path) -> list[str]:
    """The folders of ``modules`` the web server must allow (the view's scripts, nothing else)."""
    return [str(Path(modules) / d) for d in SERVED]


def file_url(path: str | os.PathLike) -> str:
    """The page-relative URL gradio serves ``path`` at (inside an allowed folder)."""
    return "./gradio_api/file=" + quote(str(Path(path).resolve()), safe="/")


def light_direction() -> list[float]:
    """The previews' light, camera space (towards the light; x right, y up, z towards the viewer)."""
    from kyara.render.toon import ToonStyle

    return [float(v) for v in ToonStyle().light]


def viewer_html(modules: Path, model: str | os.PathLike | None, height: int = VIEW_HEIGHT) -> str:
    """An ``<iframe>`` that shows ``model`` (``.vrm``/``.glb``/``.stl``; None: an empty view)."""
    if model is not None and Path(model).suffix.lower() not in KINDS:
        raise ValueError(f"the 3D view shows {', '.join(KINDS)} files, not '{Path(model).name}'")
    nm = file_url(modules)
    imports = {"three": f"{nm}/three/build/three.module.js", "three/addons/": f"{nm}/three/examples/jsm/",
               "@pixiv/three-vrm": f"{nm}/@pixiv/three-vrm/lib/three-vrm.module.js"}
    cfg = {"model": file_url(model) if model is not None else None,
           "kind": KINDS[Path(model).suffix.lower()] if model is not None else None,
           "name": Path(model).name if model is not None else "", "light": light_direction(),
           "background": list(BACKGROUND), "fovy": FOVY_DEG}
    doc = (f'<!doctype html><html><head><meta charset="utf-8"><style>{_CSS}</style>'
           f'<script type="importmap">{json.dumps({"imports": imports})}</script>'
           f'<script type="application/json" id="kyara-config">{_json_in_html(cfg)}</script>'
           f'<script type="module">{_JS}</script></head>'
           '<body><canvas id="view"></canvas><div id="note"></div></body></html>')
    return (f'<iframe class="kyara-view3d" title="3D view" srcdoc="{html.escape(doc, quote=True)}" '
            f'style="width:100%;height:{int(height)}px;border:0;border-radius:8px;display:block"></iframe>')


def _json_in_html(value) -> str:
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_CSS = ("html,body{margin:0;height:100%;overflow:hidden;background:transparent;font:13px ui-sans-serif,system-ui}"
        "#view{display:block;width:100%;height:100%;touch-action:none}"
        "#note{position:absolute;left:8px;bottom:6px;color:#555;pointer-events:none}")

_JS = r"""
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { STLLoader } from "three/addons/loaders/STLLoader.js";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { VRMLoaderPlugin, VRMUtils } from "@pixiv/three-vrm";

const cfg = JSON.parse(document.getElementById("kyara-config").textContent);
const canvas = document.getElementById("view");
const note = document.getElementById("note");
const bg = new THREE.Color().setRGB(cfg.background[0], cfg.background[1], cfg.background[2], THREE.SRGBColorSpace);
const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, alpha: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(1);
renderer.setClearColor(bg, 1);
const scene = new THREE.Scene();
const light = new THREE.DirectionalLight(0xffffff, Math.PI);  // irradiance 1, as three-vrm's examples
scene.add(light, light.target);
const camera = new THREE.PerspectiveCamera(cfg.fovy, 1, 0.01, 100);
const controls = new OrbitControls(camera, canvas);
const camLight = new THREE.Vector3(...cfg.light);
let fixed = null;  // {light: world direction} while setView's matrices hold the camera
let root = null, gltf = null;

function render() {
  if (fixed) light.position.fromArray(fixed.light);
  else { camera.updateMatrixWorld(); light.position.copy(camLight).transformDirection(camera.matrixWorld); }
  light.target.position.set(0, 0, 0);
  light.target.updateMatrixWorld();
  renderer.render(scene, camera);
}

function resize() {
  if (fixed) return;
  const w = Math.max(1, canvas.clientWidth), h = Math.max(1, canvas.clientHeight);
  renderer.setSize(w, h, false);
  camera.aspect = w / h;
  camera.updateProjectionMatrix();
  render();
}

function frame() {  // the front view, the whole figure in sight (as kyara's front preview frames it)
  fixed = null;
  canvas.style.width = ""; canvas.style.height = "";
  camera.matrixAutoUpdate = true;
  controls.enabled = true;
  const box = new THREE.Box3().setFromObject(root || new THREE.Object3D());
  const c = box.isEmpty() ? new THREE.Vector3(0, 0.8, 0) : box.getCenter(new THREE.Vector3());
  const s = box.isEmpty() ? new THREE.Vector3(0.6, 1.6, 0.4) : box.getSize(new THREE.Vector3());
  const w = Math.max(1, canvas.clientWidth), h = Math.max(1, canvas.clientHeight);
  const t = Math.tan(THREE.MathUtils.degToRad(cfg.fovy) / 2);
  const dist = 1.08 * Math.max(s.y / 2 / t, s.x / 2 / (t * w / h)) + s.z / 2;
  camera.near = dist / 100; camera.far = dist * 10;
  camera.position.set(c.x, c.y, c.z + dist);
  controls.target.copy(c);
  controls.update();
  resize();
}

function setView(job) {  // fixed matrices: the same view as a kyara preview rendered with that camera
  fixed = { light: job.light };
  controls.enabled = false;
  canvas.style.width = job.width + "px"; canvas.style.height = job.height + "px";
  renderer.setSize(job.width, job.height, false);
  camera.matrixAutoUpdate = false;
  camera.matrix.fromArray(job.view).invert();
  camera.matrixWorld.copy(camera.matrix);
  camera.matrixWorldInverse.fromArray(job.view);
  camera.projectionMatrix.fromArray(job.proj);
  camera.projectionMatrixInverse.copy(camera.projectionMatrix).invert();
  render();
}

function capture(opts = {}) {  // a PNG data URL of the current view, transparent background
  const outlines = opts.outlines !== false, ids = !!opts.ids;
  const swapped = [], hidden = [];
  if (root) root.traverse((o) => {
    if (!o.isMesh) return;
    const mats = Array.isArray(o.material) ? o.material : [o.material];
    if (ids) {
      const a = gltf && gltf.parser.associations.get(o);
      const id = a && a.meshes !== undefined ? a.meshes + 1 : 4095;
      const col = new THREE.Color().setRGB((4 * (id % 64)) / 255, (4 * Math.floor(id / 64)) / 255, 0,
                                           THREE.SRGBColorSpace);
      const flat = mats.map((m) => new THREE.MeshBasicMaterial({ color: col, visible: !m.isOutline, side: m.side }));
      swapped.push([o, o.material]);
      o.material = Array.isArray(o.material) ? flat : flat[0];
    } else if (!outlines) {
      for (const m of mats) if (m.isOutline) { hidden.push([m, m.visible]); m.visible = false; }
    }
  });
  light.visible = !ids;
  renderer.setClearColor(bg, 0);
  render();
  const url = canvas.toDataURL("image/png");
  for (const [o, m] of swapped) { [].concat(o.material).forEach((x) => x.dispose()); o.material = m; }
  for (const [m, v] of hidden) m.visible = v;
  light.visible = true;
  renderer.setClearColor(bg, 1);
  render();
  return url;
}

async function load() {
  if (!cfg.model) { note.textContent = "nothing to show yet"; return { kind: null, meshes: 0 }; }
  if (cfg.kind === "stl") {
    const geo = await new STLLoader().loadAsync(cfg.model);
    geo.computeVertexNormals();
    root = new THREE.Mesh(geo, new THREE.MeshStandardMaterial({ color: 0xd8d2cc, roughness: 0.8 }));
    if (geo.boundingBox === null) geo.computeBoundingBox();
    scene.add(root);
    return { kind: "stl", meshes: 1, vrm: false };
  }
  const loader = new GLTFLoader();
  loader.register((p) => new VRMLoaderPlugin(p));
  gltf = await loader.loadAsync(cfg.model);
  const vrm = gltf.userData.vrm;
  if (vrm) VRMUtils.rotateVRM0(vrm);  // VRM 0.x faces -Z; 1.0 is left as it is
  root = vrm ? vrm.scene : gltf.scene;
  scene.add(root);
  root.updateMatrixWorld(true);
  let meshes = 0;
  root.traverse((o) => { if (o.isMesh) meshes += 1; });
  return { kind: vrm ? "vrm" : "gltf", meshes, vrm: !!vrm };
}

const ready = load().then((info) => {
  window.kyaraViewer.info = info;
  note.textContent = cfg.name ? cfg.name + " (drag to turn, wheel to zoom)" : note.textContent;
  frame();
  controls.addEventListener("change", render);
  new ResizeObserver(resize).observe(canvas);
  return info;
}).catch((e) => {
  window.kyaraViewer.error = String(e && e.message || e);
  note.textContent = "could not show " + cfg.name + ": " + window.kyaraViewer.error;
  throw e;
});
window.kyaraViewer = { ready, info: null, error: null, setView, frame, capture, render };
"""
