// Opens a running oracle's explorer in headless Chromium and reports, as one JSON object on
// stdout, what a person would see: the epoch table's roots and votes, the map's devices and
// the colours drawn, a zeroed device's page, the search box's answers, the phone-width
// layout, and every console error and failed request. Screenshots of each page go to
// --screenshots. The caller (app/tests/localnet.rs) compares all of it with the oracle's
// own answers.
//
//   node test/explorer.mjs --url http://127.0.0.1:8080 --screenshots DIR \
//     --zeroed DEVICE_KEY --device DEVICE_KEY [--chromium /usr/bin/chromium]

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at >= 0 && process.argv[at + 1]) return process.argv[at + 1];
  if (fallback !== undefined) return fallback;
  console.error(`--${name} is required`);
  process.exit(2);
}

const url = option("url");
const screenshots = option("screenshots");
const zeroedKey = option("zeroed");
const deviceKey = option("device");
const executablePath = option("chromium", process.env.GROUNDWORK_TEST_CHROMIUM ?? "/usr/bin/chromium");
mkdirSync(screenshots, { recursive: true });

const browser = await chromium.launch({
  executablePath,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const report = { console_errors: [], failed_requests: [], screenshots: [] };
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(20_000);
page.on("console", (message) => {
  if (message.type() === "error") report.console_errors.push(message.text());
});
page.on("pageerror", (error) => report.console_errors.push(`uncaught: ${error.message}`));
page.on("requestfailed", (request) => {
  // A map view superseded by a newer one is aborted on purpose.
  if (request.failure()?.errorText !== "net::ERR_ABORTED") report.failed_requests.push(`${request.url()}: ${request.failure()?.errorText}`);
});
page.on("response", (response) => {
  if (response.status() >= 400) report.failed_requests.push(`${response.url()}: HTTP ${response.status()}`);
});

async function shoot(name, target = page) {
  const path = join(screenshots, `${name}.png`);
  await target.screenshot({ path, fullPage: true });
  report.screenshots.push(path);
}

// The network page: each epoch row's number, status, root and vote chips.
await page.goto(`${url}/explorer/`);
await page.locator("table.epochs tbody tr").first().waitFor();
await page.locator(".chart").first().waitFor();
report.network = {
  charts: await page.locator("figure.chart-figure figcaption").allTextContents(),
  cards: await page.locator(".card").allInnerTexts(),
  epoch_rows: await page.locator("table.epochs tbody tr").evaluateAll((rows) =>
    rows.map((row) => ({
      epoch: Number(row.dataset.epoch),
      status: row.cells[1].innerText,
      root: row.cells[2].title,
      votes: [...row.querySelectorAll(".vote")].map((vote) => ({ text: vote.innerText, title: vote.title })),
    })),
  ),
  oracle_rows: await page.locator("table.oracles tbody tr").count(),
};
await shoot("network");

// The map: the status line, what the map element says it drew, and the colours on the canvas.
await page.goto(`${url}/explorer/#/map`);
await page.waitForFunction(() => document.getElementById("map")?.dataset.drawn !== undefined);
// The map fits the network in view, then asks again for its devices: wait until it shows
// them (at most 15 s; the report then says what it shows).
await page
  .waitForFunction(
    () => {
      const map = document.getElementById("map");
      return map.dataset.mode === "devices" && Number(map.dataset.devicesInView) > 0;
    },
    null,
    { timeout: 15000 },
  )
  .catch(() => {});
await page.waitForTimeout(300);
const readMap = () =>
  page.evaluate(() => {
    const map = document.getElementById("map");
    const canvas = map.querySelector("canvas");
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = {
      earned: [0x2e, 0x9e, 0x5b],
      unverified_coverage: [0xe0, 0xa5, 0x26],
      no_coverage: [0x8a, 0x94, 0xa6],
      impossible_movement: [0xc8, 0x1e, 0x1e],
      seq_conflict: [0xa3, 0x28, 0x6b],
      suspended: [0x7a, 0x3b, 0x3b],
      not_eligible: [0x5b, 0x7b, 0xd5],
    };
    const counted = Object.fromEntries(Object.keys(colours).map((name) => [name, 0]));
    for (let i = 0; i < pixels.length; i += 4) {
      for (const [name, [r, g, b]] of Object.entries(colours)) {
        if (pixels[i] === r && pixels[i + 1] === g && pixels[i + 2] === b) counted[name] += 1;
      }
    }
    return {
      status: document.getElementById("map-status").innerText,
      mode: map.dataset.mode,
      devices_in_view: Number(map.dataset.devicesInView),
      drawn: Number(map.dataset.drawn),
      pixels: counted,
    };
  });
report.map = await readMap();
await shoot("map");
// Pan and zoom out as a person would: the map answers again and still shows the devices.
const box = await page.locator("#map canvas").boundingBox();
await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
await page.mouse.down();
await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 40, { steps: 6 });
await page.mouse.up();
await page.mouse.wheel(0, 900);
await page.waitForTimeout(900);
report.map_after_pan = await readMap();

// A zeroed device's page: its standing and the reasons in words.
await page.goto(`${url}/explorer/#/device/${zeroedKey}`);
await page.locator(".epoch-row").first().waitFor();
report.zeroed_device = {
  key: await page.locator(".key-line").innerText(),
  badge: await page.locator(".badge").first().innerText(),
  headlines: await page.locator(".epoch-row .headline").allInnerTexts(),
  reasons: await page.locator(".epoch-row .reasons li").allInnerTexts(),
  explanations: await page.locator(".epoch-row .explanation").allInnerTexts(),
  operator_link: await page.locator("a[href^='#/operator/']").first().getAttribute("href"),
};
await shoot("device-zeroed");
// Its operator's page, through the link a person would click.
await page.locator("a[href^='#/operator/']").first().click();
await page.locator("h2").first().waitFor();
report.operator = {
  hash: await page.evaluate(() => location.hash),
  headings: await page.locator("h2").allInnerTexts(),
  devices: await page.locator("table tbody tr a[href^='#/device/']").evaluateAll((links) => links.map((link) => link.title)),
};
await shoot("operator");

// The search box: a prefix lists the device, a whole key opens its page.
await page.goto(`${url}/explorer/#/`);
await page.locator("table.epochs").waitFor();
await page.fill("#search-text", deviceKey.slice(0, 8));
await page.press("#search-text", "Enter");
await page.locator(".results li, main p").first().waitFor();
await page.waitForFunction(() => document.title.startsWith("Search"));
report.search = {
  prefix_results: await page.locator(".results a").allInnerTexts(),
};
await shoot("search");
await page.fill("#search-text", deviceKey);
await page.press("#search-text", "Enter");
await page.waitForFunction((key) => location.hash === `#/device/${key}`, deviceKey);
await page.locator(".epoch-row").first().waitFor();
report.search.whole_key_opened = await page.evaluate(() => location.hash);
report.search.page_key = await page.locator(".key-line").innerText();

// The oracle page.
await page.goto(`${url}/explorer/#/oracle`);
await page.locator(".health").waitFor();
report.oracle = {
  health: await page.locator(".health").innerText(),
  headings: await page.locator("h2").allInnerTexts(),
};
await shoot("oracle");

// Phone width: nothing wider than the screen.
const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
const phonePage = await phone.newPage();
phonePage.on("console", (message) => {
  if (message.type() === "error") report.console_errors.push(`phone: ${message.text()}`);
});
phonePage.on("pageerror", (error) => report.console_errors.push(`phone, uncaught: ${error.message}`));
phonePage.on("requestfailed", (request) => {
  if (request.failure()?.errorText !== "net::ERR_ABORTED") report.failed_requests.push(`phone: ${request.url()}: ${request.failure()?.errorText}`);
});
phonePage.on("response", (response) => {
  if (response.status() >= 400) report.failed_requests.push(`phone: ${response.url()}: HTTP ${response.status()}`);
});
report.phone = {};
for (const [name, hash, ready] of [
  ["network", "#/", "table.epochs"],
  ["map", "#/map", "#map canvas"],
  ["device", `#/device/${zeroedKey}`, ".epoch-row"],
]) {
  await phonePage.goto(`${url}/explorer/${hash}`);
  await phonePage.locator(ready).first().waitFor();
  await phonePage.waitForTimeout(400);
  report.phone[name] = await phonePage.evaluate(() => ({
    width: window.innerWidth,
    scroll_width: document.documentElement.scrollWidth,
  }));
  await shoot(`phone-${name}`, phonePage);
}

await browser.close();
console.log(JSON.stringify(report));
