// Khronos glTF-Validator over the files given as arguments; prints one JSON object:
// {"<path>": {"numErrors", "numWarnings", "numInfos", "messages": [{code, severity, pointer, message}]}}
// Usage: node tests/js/validate.mjs a.glb b.vrm ...
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const out = {};
for (const path of process.argv.slice(2)) {
  const data = new Uint8Array(await readFile(path));
  const report = await validator.validateBytes(data, { maxIssues: 200, externalResourceFunction: () => Promise.reject(new Error("no external resources")) });
  const issues = report.issues;
  out[path] = {
    numErrors: issues.numErrors,
    numWarnings: issues.numWarnings,
    numInfos: issues.numInfos,
    messages: issues.messages.filter((m) => m.severity <= 2).map((m) => ({ code: m.code, severity: m.severity, pointer: m.pointer, message: m.message })),
  };
}
process.stdout.write(JSON.stringify(out));
