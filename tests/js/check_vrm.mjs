// Load VRM files the way a web viewer does: three.js + @pixiv/three-vrm in headless Chromium.
// stdin: JSON [{"vrm": path, "vrma": path|null, "frame": int, "fps": number}]
// stdout: JSON {"<vrm path>": {console, humanBones, missingRequired, expressions, morphMove, mtoon, other,
//                              springJoints, colliders, metaVersion, anim: {...}}}
// One browser for all jobs. Pages come from a virtual origin served from node_modules and the files.
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
  "@pixiv/three-vrm": "/nm/@pixiv/three-vrm/lib/three-vrm.module.js",
  "@pixiv/three-vrm-animation": "/nm/@pixiv/three-vrm-animation/lib/three-vrm-animation.module.js"}}</script>
<script type="module" src="/page.mjs"></script></head><body></body></html>`;

const page_js = `
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { VRMLoaderPlugin } from "@pixiv/three-vrm";
import { VRMAnimationLoaderPlugin, VRMLookAtQuaternionProxy, createVRMAnimationClip } from "@pixiv/three-vrm-animation";

const REQUIRED = ["hips", "spine", "head", "leftUpperLeg", "leftLowerLeg", "leftFoot", "rightUpperLeg",
  "rightLowerLeg", "rightFoot", "leftUpperArm", "leftLowerArm", "leftHand", "rightUpperArm", "rightLowerArm", "rightHand"];

function loader() {
  const l = new GLTFLoader();
  l.register((p) => new VRMLoaderPlugin(p));
  l.register((p) => new VRMAnimationLoaderPlugin(p));
  return l;
}

function morphedPositions(vrm) {
  // CPU positions (morphs + skinning) of every vertex of meshes that have morph targets
  const out = [];
  vrm.scene.updateMatrixWorld(true);
  vrm.scene.traverse((o) => {
    if (o.isMesh && o.geometry.morphAttributes.position) {
      const n = o.geometry.attributes.position.count;
      const v = new THREE.Vector3();
      for (let i = 0; i < n; i++) { o.getVertexPosition(i, v); out.push(v.x, v.y, v.z); }
    }
  });
  return out;
}

function maxMove(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i += 3) {
    m = Math.max(m, Math.hypot(a[i] - b[i], a[i + 1] - b[i + 1], a[i + 2] - b[i + 2]));
  }
  return m;
}

window.checkVrm = async (url, vrmaUrl, frame, fps) => {
  const r = {};
  const gltf = await loader().loadAsync(url);
  const vrm = gltf.userData.vrm;
  if (!vrm) return { error: "no VRM in " + url };
  r.metaVersion = vrm.meta.metaVersion;
  r.metaName = vrm.meta.name ?? vrm.meta.title;
  r.humanBones = Object.keys(vrm.humanoid.humanBones).filter((b) => vrm.humanoid.getRawBoneNode(b));
  r.missingRequired = REQUIRED.filter((b) => !vrm.humanoid.getRawBoneNode(b));
  const em = vrm.expressionManager;
  r.expressions = em ? em.expressions.map((e) => e.expressionName) : [];
  r.morphMove = {};
  if (em) {
    const rest = morphedPositions(vrm);
    for (const name of r.expressions) {
      em.resetValues(); em.setValue(name, 1.0); em.update();
      r.morphMove[name] = maxMove(rest, morphedPositions(vrm));
    }
    em.resetValues(); em.update();
  }
  let mtoon = 0, other = 0;
  vrm.scene.traverse((o) => {
    if (!o.isMesh) return;
    for (const m of (Array.isArray(o.material) ? o.material : [o.material])) { if (m.isMToonMaterial) mtoon++; else other++; }
  });
  r.mtoon = mtoon; r.other = other;
  const sb = vrm.springBoneManager;
  r.springJoints = sb ? sb.joints.size : 0;
  r.colliders = sb ? sb.colliders.size ?? sb.colliders.length : 0;
  // spring simulation runs without throwing
  vrm.update(1 / 30); vrm.update(1 / 30);
  if (vrmaUrl) {
    const ag = await loader().loadAsync(vrmaUrl);
    const anims = ag.userData.vrmAnimations || [];
    r.anim = { count: anims.length };
    if (anims.length) {
      if (vrm.lookAt) {  // as a viewer does: the proxy that carries lookAt tracks
        const proxy = new VRMLookAtQuaternionProxy(vrm.lookAt);
        proxy.name = "lookAtQuaternionProxy";
        vrm.scene.add(proxy);
      }
      const clip = createVRMAnimationClip(anims[0], vrm);
      const mixer = new THREE.AnimationMixer(vrm.scene);
      mixer.clipAction(clip).play();
      mixer.setTime(frame / fps);
      vrm.humanoid.update();
      vrm.scene.updateMatrixWorld(true);
      const world = {};
      for (const b of Object.keys(vrm.humanoid.humanBones)) {
        const n = vrm.humanoid.getRawBoneNode(b);
        if (n) { const p = new THREE.Vector3(); n.getWorldPosition(p); world[b] = [p.x, p.y, p.z]; }
      }
      r.anim.duration = clip.duration;
      r.anim.tracks = clip.tracks.length;
      r.anim.world = world;
    }
  }
  return r;
};
window.ready = true;
`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const results = {};
try {
  const files = {};
  jobs.forEach((j, i) => { files[`/f/${i}.vrm`] = j.vrm; if (j.vrma) files[`/f/${i}.vrma`] = j.vrma; });
  const { page, logs } = await openPage(browser, { html, pageJs: page_js, nodeModules: nm, files });
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs[i];
    logs.lines = [];
    let r;
    try {
      r = await page.evaluate(([a, b, f, fps]) => window.checkVrm(a, b, f, fps),
        [`/f/${i}.vrm`, j.vrma ? `/f/${i}.vrma` : null, j.frame ?? 0, j.fps ?? 30]);
    } catch (e) {
      r = { error: String(e) };
    }
    r.console = logs.lines;
    results[j.vrm] = r;
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
