// Render VRM files the way a web viewer does: three.js + @pixiv/three-vrm, WebGL in headless Chromium
// (SwiftShader on the CPU), with a camera and light given by the caller.
// stdin: JSON [{"vrm": path, "width": int, "height": int, "view": [16], "proj": [16], "light": [3],
//               "rotateVrm0": bool}]
//   view: world -> camera matrix, proj: OpenGL projection, both column-major (as three.js fromArray reads);
//   light: world-space direction towards a white directional light of intensity PI (irradiance 1, as
//   three-vrm's examples light their models); no ambient light.
// stdout: JSON {"<vrm path>": {"color": PNG base64 (RGBA, transparent background),
//                              "surface": the same without MToon outlines (surface colours),
//                              "ids": PNG base64, flat, no outline: glTF mesh index + 1 = R / 4 + 64 (G / 4),
//                              "console": [...]}}
// The avatar stays in its rest pose: no vrm.update(), so spring bones and expressions do not move.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

import { openPage } from "./serve_page.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const nm = path.join(here, "node_modules");
const jobs = JSON.parse(readFileSync(0, "utf8"));

const html = `<!doctype html><html><head><script type="importmap">{"imports": {
  "three": "/nm/three/build/three.module.js",
  "three/addons/": "/nm/three/examples/jsm/",
  "@pixiv/three-vrm": "/nm/@pixiv/three-vrm/lib/three-vrm.module.js"}}</script>
<script type="module" src="/page.mjs"></script></head><body style="margin:0"></body></html>`;

const page_js = `
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { VRMLoaderPlugin, VRMUtils } from "@pixiv/three-vrm";

window.renderVrm = async (url, job) => {
  const l = new GLTFLoader();
  l.register((p) => new VRMLoaderPlugin(p));
  const gltf = await l.loadAsync(url);
  const vrm = gltf.userData.vrm;
  if (!vrm) return { error: "no VRM in " + url };
  if (job.rotateVrm0) VRMUtils.rotateVRM0(vrm);
  const canvas = document.createElement("canvas");
  canvas.width = job.width; canvas.height = job.height;
  document.body.appendChild(canvas);
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, alpha: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(job.width, job.height, false);
  renderer.setClearColor(0x000000, 0);
  const scene = new THREE.Scene();
  scene.add(vrm.scene);
  const light = new THREE.DirectionalLight(0xffffff, Math.PI);
  light.position.set(job.light[0], job.light[1], job.light[2]);
  scene.add(light);
  const camera = new THREE.PerspectiveCamera();
  camera.matrixAutoUpdate = false;
  camera.matrix.fromArray(job.view).invert();
  camera.matrixWorld.copy(camera.matrix);
  camera.matrixWorldInverse.fromArray(job.view);
  camera.projectionMatrix.fromArray(job.proj);
  camera.projectionMatrixInverse.copy(camera.projectionMatrix).invert();
  vrm.scene.updateMatrixWorld(true);
  renderer.render(scene, camera);
  const color = canvas.toDataURL("image/png");
  // the same view without MToon's outlines: the surface colours
  vrm.scene.traverse((o) => {
    if (!o.isMesh) return;
    for (const m of (Array.isArray(o.material) ? o.material : [o.material])) if (m.isOutline) m.visible = false;
  });
  renderer.render(scene, camera);
  const surface = canvas.toDataURL("image/png");
  // the same view with every primitive drawn flat in its mesh's id colour (no light, no outline)
  vrm.scene.traverse((o) => {
    if (!o.isMesh) return;
    const a = gltf.parser.associations.get(o);
    const id = a && a.meshes !== undefined ? a.meshes + 1 : 4095;
    const c = new THREE.Color();
    c.setRGB((4 * (id % 64)) / 255, (4 * Math.floor(id / 64)) / 255, 0, THREE.SRGBColorSpace);
    o.material = new THREE.MeshBasicMaterial({ color: c });
  });
  scene.remove(light);
  renderer.render(scene, camera);
  const ids = canvas.toDataURL("image/png");
  renderer.dispose();
  canvas.remove();
  return { color: color.split(",")[1], surface: surface.split(",")[1], ids: ids.split(",")[1] };
};
window.ready = true;
`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const results = {};
try {
  const files = {};
  jobs.forEach((j, i) => { files[`/f/${i}.vrm`] = j.vrm; });
  const { page, logs } = await openPage(browser, { html, pageJs: page_js, nodeModules: nm, files });
  for (let i = 0; i < jobs.length; i++) {
    logs.lines = [];
    let r;
    try {
      r = await page.evaluate(([u, j]) => window.renderVrm(u, j), [`/f/${i}.vrm`, jobs[i]]);
    } catch (e) {
      r = { error: String(e) };
    }
    r.console = logs.lines;
    results[jobs[i].vrm] = r;
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
