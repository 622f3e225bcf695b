// Measures the explorer's map in headless Chromium against a running oracle (the explorer's
// benchmark, oracle/explorer/benches/map.rs, serves one with 100,000 generated devices):
// the time from navigation to the first map drawn with its devices, the bytes transferred,
// the frame time of a drag (each pointer move redraws the canvas), the answer after each pan
// and zoom, down to the devices drawn one by one. The floor measured in the same page: the
// same requests fetched and parsed without drawing. Prints one JSON object.
//
//   node test/measure.mjs --url http://127.0.0.1:PORT [--chromium /usr/bin/chromium]

import { chromium } from "playwright-core";

const at = (name) => process.argv.indexOf(`--${name}`);
const url = process.argv[at("url") + 1];
const executablePath = at("chromium") > 0 ? process.argv[at("chromium") + 1] : process.env.GROUNDWORK_TEST_CHROMIUM ?? "/usr/bin/chromium";

const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
const errors = [];
page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
page.on("pageerror", (error) => errors.push(error.message));

const result = {};
const started = Date.now();
await page.goto(`${url}/explorer/#/map`);
await page.waitForFunction(() => performance.getEntriesByName("explorer-map-first-render").length > 0, null, { timeout: 60_000 });
result.first_render_ms = await page.evaluate(() => Math.round(performance.getEntriesByName("explorer-map-first-render")[0].startTime));
result.first_render_wall_ms = Date.now() - started;
result.transferred = await page.evaluate(() => {
  const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
  return {
    requests: entries.length,
    bytes: entries.reduce((sum, entry) => sum + (entry.transferSize || 0), 0),
    by_request: entries.map((entry) => ({ name: entry.name.replace(location.origin, ""), bytes: entry.transferSize, ms: Math.round(entry.duration) })),
  };
});
result.first_view = await page.evaluate(() => ({ ...document.getElementById("map").dataset, status: document.getElementById("map-status").innerText }));

// The map settles first (after the first answer it fits the network in view and asks again).
await page.waitForFunction(() => window.__explorerMap.answered === window.__explorerMap.requested);
await page.waitForTimeout(500);

// Frame time: every draw of the canvas, timed while the map is dragged.
await page.evaluate(() => {
  const map = window.__explorerMap;
  const draw = map.draw.bind(map);
  window.__drawTimes = [];
  map.draw = () => {
    const start = performance.now();
    draw();
    window.__drawTimes.push(performance.now() - start);
  };
});
const box = await page.locator("#map canvas").boundingBox();
const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
const answers = [];
// Runs a person's gesture and waits for the map's answer to the view it left.
async function gesture(label, act) {
  const before = await page.evaluate(() => window.__explorerMap.requested);
  await act();
  const start = Date.now();
  await page.waitForFunction(
    (n) => window.__explorerMap.requested > n && window.__explorerMap.answered === window.__explorerMap.requested,
    before,
    { timeout: 30_000 },
  );
  answers.push({ label, answered_ms: Date.now() - start, ...(await page.evaluate(() => ({ ...document.getElementById("map").dataset }))) });
}
for (let pan = 0; pan < 6; pan += 1) {
  const direction = pan % 2 === 0 ? 1 : -1;
  await gesture(`pan ${pan + 1}`, async () => {
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.down();
    await page.mouse.move(centre.x + direction * 240, centre.y + direction * 60, { steps: 20 });
    await page.mouse.up();
  });
}
// Zooming in on the biggest cluster drawn, as a person would, down to devices drawn one by one.
for (let zoom = 0; zoom < 8; zoom += 1) {
  const target = await page.evaluate(() => {
    const drawn = window.__explorerMap.drawn ?? [];
    const biggest = drawn.reduce((best, item) => (!best || item.radius > best.radius ? item : best), null);
    return biggest ? { x: biggest.x, y: biggest.y } : null;
  });
  await gesture(`zoom in ${zoom + 1}`, async () => {
    await page.mouse.move(box.x + (target?.x ?? box.width / 2), box.y + (target?.y ?? box.height / 2));
    await page.mouse.wheel(0, -450);
  });
}
const drawTimes = await page.evaluate(() => window.__drawTimes);
drawTimes.sort((a, b) => a - b);
result.draws = {
  count: drawTimes.length,
  median_ms: Number(drawTimes[Math.floor(drawTimes.length / 2)].toFixed(2)),
  p95_ms: Number(drawTimes[Math.floor(drawTimes.length * 0.95)].toFixed(2)),
  max_ms: Number(drawTimes[drawTimes.length - 1].toFixed(2)),
};
result.answers = answers;

// The floor: the page's own requests fetched and parsed again, nothing drawn.
result.floor = await page.evaluate(async () => {
  const paths = ["/explorer/countries-110m.json", "/v1/explorer/map?west=-180&south=-85&east=180&north=85&zoom=1.5"];
  const start = performance.now();
  let bytes = 0;
  for (const path of paths) {
    const text = await (await fetch(path, { cache: "no-store" })).text();
    bytes += text.length;
    JSON.parse(text);
  }
  return { fetch_and_parse_ms: Math.round(performance.now() - start), bytes };
});
result.console_errors = errors;
await browser.close();
console.log(JSON.stringify(result));
