// The page both three-vrm harnesses run in: Playwright serves index.html, page.mjs, node_modules
// (as /nm/...) and the test's files from an origin that never touches the network, then waits
// for the page's window.ready. Console warnings/errors and page errors collect in logs.lines.
import { readFileSync } from "node:fs";
import path from "node:path";

export const ORIGIN = "http://kyara.test";

export async function openPage(browser, { html, pageJs, nodeModules, files }) {
  const page = await browser.newPage();
  const logs = { lines: [] };
  page.on("console", (m) => {
    if (m.type() === "warning" || m.type() === "error") logs.lines.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => logs.lines.push(`pageerror: ${e.message}`));
  const type = (x) => (x.endsWith(".js") || x.endsWith(".mjs") ? "text/javascript" : "application/octet-stream");
  await page.route(`${ORIGIN}/**`, async (route) => {
    const p = new URL(route.request().url()).pathname;
    if (p === "/" || p === "/index.html") return route.fulfill({ body: html, contentType: "text/html" });
    if (p === "/page.mjs") return route.fulfill({ body: pageJs, contentType: "text/javascript" });
    if (p.startsWith("/nm/")) return route.fulfill({ body: readFileSync(path.join(nodeModules, p.slice(4))), contentType: type(p) });
    if (files[p]) return route.fulfill({ body: readFileSync(files[p]), contentType: "application/octet-stream" });
    return route.fulfill({ status: 404, body: "not found" });
  });
  await page.goto(`${ORIGIN}/index.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 60000 });
  return { page, logs };
}
