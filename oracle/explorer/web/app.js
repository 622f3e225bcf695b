// The Groundwork network explorer: one page app over the oracle's own JSON routes. Pages
// (the part after # in the address): #/ the network, #/map, #/device/KEY, #/operator/KEY,
// #/recipient/KEY, #/oracle, #/search/TEXT. Every element is made with the DOM API, so no
// text from the network (keys, reasons, peers' errors) is ever parsed as HTML.

import { barChart, lineChart } from "./charts.js";
import { countryPath, DeviceMap, REASON_COLOURS, STANDING_COLOURS, STANDING_WORDS } from "./map.js";

const main = document.getElementById("main");
let decimals = null;
let activeMap = null;
let countries = null;

// ---------------------------------------------------------------------------------------
// Fetching: amounts are u64 and may pass 2^53, so integers a Number cannot hold exactly are
// read as BigInt from their source text.

function parseJson(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value === "number" && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}

class HttpError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function getJson(path, options = {}) {
  const response = await fetch(path, { headers: { accept: "application/json" }, ...options });
  const text = await response.text();
  let body = null;
  try {
    body = text ? parseJson(text) : null;
  } catch {
    body = { message: text.slice(0, 200) };
  }
  if (!response.ok && !(options.acceptStatus ?? []).includes(response.status)) throw new HttpError(response.status, body);
  return body;
}

// ---------------------------------------------------------------------------------------
// Elements and formats.

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const toBig = (value) => (typeof value === "bigint" ? value : BigInt(Math.trunc(Number(value ?? 0))));
const group = (digits) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

// A token amount in base units, written in whole tokens (up to 4 decimals shown).
function tokens(value) {
  if (value === null || value === undefined) return "–";
  if (decimals === null) return `${group(toBig(value).toString())} base units`;
  const places = decimals;
  const amount = toBig(value);
  const unit = 10n ** BigInt(places);
  const whole = amount / unit;
  let fraction = (amount % unit).toString().padStart(places, "0").slice(0, 4).replace(/0+$/, "");
  return `${group(whole.toString())}${fraction ? "." + fraction : ""}`;
}

// An axis label: whole tokens, compact ("100.4M").
function tokensCompact(value) {
  if (decimals === null) return compactNumber(Number(value));
  return compactNumber(Number(value) / 10 ** decimals);
}
const compactNumber = (value) => new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 3 }).format(value);

const count = (value) => (value === null || value === undefined ? "–" : group(toBig(value).toString()));
const when = (seconds) => (seconds ? new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–");
const short = (key) => (key && key.length > 12 ? `${key.slice(0, 6)}…${key.slice(-4)}` : key ?? "–");

function keyLink(kind, key) {
  return h("a", { href: `#/${kind}/${key}`, class: "key", title: key }, short(key));
}

function standingBadge(standing, reason) {
  const badge = h("span", { class: "badge" }, reason ? `zeroed: ${reason.replaceAll("_", " ")}` : STANDING_WORDS[standing] ?? standing);
  badge.style.background = reason ? REASON_COLOURS[reason] ?? STANDING_COLOURS.zeroed : STANDING_COLOURS[standing] ?? "#888";
  return badge;
}

function table(headers, rows, { className = "" } = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { class: className }, h("thead", {}, h("tr", {}, headers.map((name) => h("th", {}, name)))), h("tbody", {}, rows)),
  );
}

function card(label, value, note) {
  return h("div", { class: "card" }, h("div", { class: "card-label" }, label), h("div", { class: "card-value" }, value), note ? h("div", { class: "card-note" }, note) : null);
}

function problem(error) {
  return h("p", { class: "problem" }, error instanceof HttpError ? `${error.message}` : `The oracle cannot be reached: ${error.message}`);
}

// Each visit to a page has a number; a page still loading when the reader moves on never
// replaces the page they moved to.
let visit = 0;

function page(title, ...children) {
  const content = children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false);
  main.replaceChildren(h("h1", {}, title), ...content);
  document.title = `${title} · Groundwork explorer`;
}

// What a page function shows with: `page`, as long as the reader is still on this visit.
function pager() {
  const mine = visit;
  const show = (title, ...children) => {
    if (mine === visit) page(title, ...children);
  };
  show.current = () => mine === visit;
  return show;
}

// The token's decimals, read with the chain's totals; while they cannot be read, amounts are
// written in base units (and read again on the next page).
async function ensureDecimals() {
  if (decimals !== null) return;
  try {
    const network = await getJson("/v1/explorer/network");
    decimals = network.totals?.decimals ?? null;
  } catch {
    decimals = null;
  }
}

// ---------------------------------------------------------------------------------------
// The network: totals, the epoch timeline, each epoch's root and votes, the oracle set.

async function networkPage() {
  const show = pager();
  show("Network", h("p", { class: "loading" }, "Reading the network…"));
  let network;
  try {
    network = await getJson("/v1/explorer/network");
  } catch (error) {
    return show("Network", problem(error));
  }
  decimals = network.totals?.decimals ?? decimals;
  const totals = network.totals;
  const cards = h(
    "div",
    { class: "cards" },
    card("Supply", totals ? tokens(totals.supply) : "–", totals ? `at most ${tokens(totals.max_supply)}` : null),
    card("Minted by epochs", totals ? tokens(totals.minted_total) : "–"),
    card("Burned for credits", totals ? tokens(totals.burned_total) : "–"),
    card("Device rewards claimed", totals ? tokens(totals.total_claimed) : "–", totals ? `${tokens(totals.unclaimed)} not claimed yet` : null),
    card("Active root", network.active_root ? `epoch ${network.active_root.epoch}` : "none yet"),
    card("Devices", count(network.devices), network.newest_verified_epoch !== null ? `in epoch ${network.newest_verified_epoch}` : "nothing verified yet"),
  );
  const epochs = network.epochs ?? [];
  const oldestFirst = [...epochs].reverse();
  const labels = oldestFirst.map((epoch) => epoch.epoch);
  const charts = epochs.length
    ? h(
        "div",
        { class: "charts" },
        barChart({
          title: "Minted per epoch: the devices', stakers' and treasury's shares",
          labels,
          format: tokens,
          axisFormat: tokensCompact,
          series: [
            { name: "devices", colour: "#7c3aed", values: oldestFirst.map((epoch) => epoch.chain?.device_share ?? 0) },
            { name: "stakers", colour: "#2563eb", values: oldestFirst.map((epoch) => epoch.chain?.staker_share ?? 0) },
            { name: "treasury", colour: "#64748b", values: oldestFirst.map((epoch) => epoch.chain?.treasury_share ?? 0) },
          ],
        }),
        barChart({
          title: "Burned by dApps for credits, per epoch",
          labels,
          format: tokens,
          axisFormat: tokensCompact,
          series: [{ name: "burned for credits", colour: "#dc2626", values: oldestFirst.map((epoch) => epoch.chain?.burned_for_credits ?? 0) }],
        }),
        barChart({
          title: "Device pool and paid to devices, per epoch",
          labels,
          format: tokens,
          axisFormat: tokensCompact,
          series: [
            { name: "device pool", colour: "#7c3aed", values: oldestFirst.map((epoch) => epoch.pool) },
            { name: "paid", colour: "#2e9e5b", values: oldestFirst.map((epoch) => epoch.paid) },
          ],
        }),
        lineChart({
          title: "Device rewards since genesis: earned (the roots' totals) and claimed by each epoch's end",
          labels,
          format: tokens,
          axisFormat: tokensCompact,
          series: [
            { name: "earned", colour: "#0f766e", values: oldestFirst.map((epoch) => epoch.cumulative_total) },
            { name: "claimed", colour: "#f59e0b", values: oldestFirst.map((epoch) => epoch.chain?.total_claimed ?? null) },
          ],
        }),
        lineChart({
          title: "Supply after each epoch's mint",
          labels,
          format: tokens,
          axisFormat: tokensCompact,
          fromZero: false,
          series: [{ name: "supply", colour: "#1d4ed8", values: oldestFirst.map((epoch) => epoch.chain?.supply_after_mint ?? null) }],
        }),
        barChart({
          title: "Devices per epoch by standing",
          labels,
          format: (value) => count(Math.round(Number(value))),
          series: Object.keys(STANDING_COLOURS).map((standing) => ({
            name: STANDING_WORDS[standing],
            colour: STANDING_COLOURS[standing],
            values: oldestFirst.map((epoch) => epoch.standings?.[standing] ?? 0),
          })),
        }),
      )
    : h("p", {}, "No epoch is verified yet: the first appears once an epoch has ended, been sealed and closed on chain.");
  const epochRows = epochs.map((epoch) =>
    h(
      "tr",
      { "data-epoch": epoch.epoch },
      h("td", {}, String(epoch.epoch)),
      h(
        "td",
        {},
        epoch.status ?? "–",
        epoch.vetoes ? ` (vetoed ${epoch.vetoes}×)` : "",
        epoch.agreed_root_is_this_oracles === false
          ? h("div", { class: "problem-inline" }, `the chain agreed another root: ${epoch.agreed_root.slice(0, 16)}…`)
          : null,
        epoch.activates_at ? h("div", { class: "hint" }, epoch.status?.startsWith("activ") ? `agreed ${when(epoch.agreed_at)}; its challenge period ended ${when(epoch.activates_at)}` : `agreed ${when(epoch.agreed_at)}; can be activated from ${when(epoch.activates_at)}`) : null,
      ),
      h("td", { class: "mono", title: epoch.root }, epoch.root.slice(0, 16) + "…"),
      h(
        "td",
        {},
        epoch.votes === null || epoch.votes === undefined
          ? "–"
          : epoch.votes.length === 0
            ? "no vote yet"
            : h("div", { class: "votes" }, epoch.votes.map((vote) =>
                h(
                  "span",
                  {
                    class: `vote ${vote.matches_this_oracle ? "vote-same" : "vote-other"}`,
                    title: `${vote.oracle} voted ${vote.root}`,
                  },
                  `${short(vote.oracle)} ${vote.matches_this_oracle ? "✓ same root" : "✗ another root"}`,
                ),
              )),
      ),
      h("td", {}, count(epoch.standings?.earned), " / ", count(epoch.devices)),
      h("td", {}, Object.entries(epoch.zeroed_by_reason ?? {}).map(([reason, n]) => `${reason.replaceAll("_", " ")}: ${n}`).join(", ") || "none"),
      h("td", {}, tokens(epoch.pool)),
      h("td", {}, tokens(epoch.paid)),
    ),
  );
  const oracleRows = (network.oracles ?? []).map((oracle) =>
    h(
      "tr",
      {},
      h("td", { class: "mono", title: oracle.oracle }, short(oracle.oracle)),
      h("td", {}, oracle.in_oracle_set ? "yes" : "removed"),
      h("td", {}, String(oracle.agrees)),
      h("td", {}, String(oracle.differs)),
      h("td", {}, String(oracle.no_vote)),
    ),
  );
  show(
    "Network",
    cards,
    (network.chain_errors ?? []).length ? h("p", { class: "problem" }, `The chain could not be read completely: ${network.chain_errors.join("; ")}`) : null,
    charts,
    h("h2", {}, "Epochs"),
    table(["Epoch", "Status on chain", "Root (this oracle's)", "Votes", "Earned / devices", "Zeroed", "Device pool", "Paid"], epochRows, { className: "epochs" }),
    h("h2", {}, "Oracles"),
    h("p", { class: "hint" }, `Roots need ${network.quorum || "?"} votes. For each oracle of the current set, over the newest epochs whose records are on chain: whether it voted the root this oracle computed.`),
    table(["Oracle", "In the set", "Same root", "Another root", "No vote"], oracleRows, { className: "oracles" }),
  );
}

// ---------------------------------------------------------------------------------------
// The map.

async function mapPage() {
  const show = pager();
  const status = h("p", { class: "map-status", id: "map-status" }, "Loading the map…");
  const container = h("div", { class: "map", id: "map" });
  const legend = h(
    "div",
    { class: "legend map-legend" },
    Object.entries(STANDING_COLOURS).map(([standing, colour]) => {
      const swatch = h("span", { class: "swatch" });
      swatch.style.background = colour;
      return h("span", { class: "legend-key" }, swatch, STANDING_WORDS[standing]);
    }),
  );
  const zoomIn = h("button", { type: "button", class: "map-button", "aria-label": "Zoom in" }, "+");
  const zoomOut = h("button", { type: "button", class: "map-button", "aria-label": "Zoom out" }, "−");
  show("Map", status, h("div", { class: "map-frame" }, container, h("div", { class: "map-buttons" }, zoomIn, zoomOut)), legend);
  if (!countries) {
    try {
      countries = countryPath(await getJson("/explorer/countries-110m.json"));
    } catch (error) {
      status.textContent = `The base map cannot be read: ${error.message}`;
    }
  }
  if (!show.current()) return;
  let fitted = false;
  const map = new DeviceMap(container, {
    countries,
    fetchView: (view, signal) => getJson(`/v1/explorer/map?${new URLSearchParams(view)}`, { signal }),
    onDevice: (key) => (location.hash = `#/device/${key}`),
    onAnswer: (answer) => {
      if (answer.error) {
        status.textContent = `The devices cannot be read: ${answer.error}`;
        return;
      }
      if (answer.epoch === null) {
        status.textContent = "No epoch is verified yet: devices appear from the first verified epoch on.";
        return;
      }
      const drawn = answer.mode === "devices" ? answer.devices.length : answer.clusters.length;
      const byStanding = {};
      for (const device of answer.devices) byStanding[device.standing] = (byStanding[device.standing] ?? 0) + 1;
      for (const cluster of answer.clusters) {
        Object.keys(STANDING_COLOURS).forEach((standing, slot) => (byStanding[standing] = (byStanding[standing] ?? 0) + Number(cluster.standings[slot])));
      }
      const parts = Object.entries(byStanding)
        .filter(([, n]) => n > 0)
        .map(([standing, n]) => `${STANDING_WORDS[standing]} ${count(n)}`);
      status.textContent =
        `Epoch ${answer.epoch}: ${count(answer.total)} devices; ${count(answer.in_view)} in view` +
        (answer.mode === "clusters" ? ` in ${count(drawn)} clusters` : "") +
        (parts.length ? ` (${parts.join(", ")})` : "");
      container.dataset.devicesInView = String(answer.in_view);
      container.dataset.mode = answer.mode;
      container.dataset.drawn = String(drawn);
      if (!fitted) {
        // The first answer is the whole world's: the map zooms to where the devices are.
        fitted = true;
        const points = [...answer.devices, ...answer.clusters].filter((item) => item.lat !== null).map((item) => [item.lat, item.lng]);
        map.fit(points);
      }
    },
  });
  zoomIn.addEventListener("click", () => map.zoomAround(map.width / 2, map.height / 2, 1));
  zoomOut.addEventListener("click", () => map.zoomAround(map.width / 2, map.height / 2, -1));
  activeMap = map;
  window.__explorerMap = map;
}

// ---------------------------------------------------------------------------------------
// A device, an operator, a recipient.

// A claim's card: the claimable amount, and how it follows from the active root.
function claimCard(label, claim) {
  if (!claim) return card(label, "–");
  if (claim.claimable === undefined) return card(label, "–", claim.error ?? claim.message);
  return card(label, tokens(claim.claimable), `earned ${tokens(claim.cumulative)} since genesis in epoch ${claim.active_epoch}'s root, ${tokens(claim.claimed)} claimed`);
}

function numbersTable(row) {
  const skip = new Set(["epoch", "explanation", "headline", "recipient", "witness_reports_dropped", "fraud", "fraud_meanings"]);
  const entries = Object.entries(row).filter(([name]) => !skip.has(name));
  const dropped = Object.entries(row.witness_reports_dropped ?? {}).filter(([, n]) => n > 0);
  return h(
    "dl",
    { class: "numbers" },
    entries.map(([name, value]) => [h("dt", {}, name.replaceAll("_", " ")), h("dd", {}, value === null ? "–" : String(value))]),
    dropped.length ? [h("dt", {}, "witness reports dropped"), h("dd", {}, dropped.map(([why, n]) => `${why.replaceAll("_", " ")}: ${n}`).join(", "))] : null,
  );
}

async function devicePage(key) {
  const show = pager();
  show("Device", h("p", { class: "loading" }, "Reading the device…"));
  await ensureDecimals();
  let device;
  let rewards;
  try {
    [device, rewards] = await Promise.all([getJson(`/v1/explorer/devices/${encodeURIComponent(key)}`), getJson(`/v1/devices/${encodeURIComponent(key)}/rewards`)]);
  } catch (error) {
    return show("Device", h("p", { class: "mono" }, key), problem(error));
  }
  const newestRow = rewards.epochs[0];
  const rows = rewards.epochs.map((row) =>
    h(
      "section",
      { class: "epoch-row", "data-epoch": row.epoch },
      h("h3", {}, `Epoch ${row.epoch}: ${tokens(row.amount)} tokens`),
      h("p", { class: "headline" }, row.headline),
      (row.fraud_meanings ?? []).length
        ? h("ul", { class: "reasons" }, row.fraud_meanings.map((fraud) => h("li", {}, `Zeroed for ${fraud.rule.replaceAll("_", " ")}: ${fraud.meaning}.`)))
        : null,
      h("pre", { class: "explanation" }, row.explanation),
      h("details", {}, h("summary", {}, "Every number that decided it"), numbersTable(row)),
    ),
  );
  show(
    "Device",
    h("p", { class: "mono key-line" }, device.device),
    h(
      "div",
      { class: "cards" },
      card("Standing in epoch " + device.epoch, standingBadge(device.standing, device.reason), newestRow?.headline),
      card("Earned in epoch " + device.epoch, tokens(device.amount)),
      card("Operator", keyLink("operator", device.operator)),
      card("Recipient", keyLink("recipient", device.recipient)),
      claimCard("Claimable by its recipient", device.claim),
      card("Where", device.cell ? `H3 cell ${device.cell}` : "no location asserted", device.position ? `${device.position.lat.toFixed(5)}, ${device.position.lng.toFixed(5)}` : null),
    ),
    h("p", { class: "hint" }, `Class ${device.class_id}, onboarded ${when(device.onboarded_at)}. The same words as groundwork device report:`),
    rows,
  );
}

function deviceRows(devices) {
  return devices.map((device) =>
    h(
      "tr",
      {},
      h("td", {}, keyLink("device", device.device)),
      h("td", {}, standingBadge(device.standing, device.reason)),
      h("td", {}, tokens(device.amount)),
      h("td", { class: "mono" }, device.cell ?? "–"),
    ),
  );
}

async function operatorPage(key) {
  const show = pager();
  show("Operator", h("p", { class: "loading" }, "Reading the operator…"));
  await ensureDecimals();
  let operator;
  try {
    operator = await getJson(`/v1/explorer/operators/${encodeURIComponent(key)}`);
  } catch (error) {
    return show("Operator", h("p", { class: "mono" }, key), problem(error));
  }
  const lost = {};
  for (const epoch of operator.epochs) {
    for (const [standing, n] of Object.entries(epoch.standings)) if (standing !== "earned" && standing !== "zeroed" && n > 0) lost[STANDING_WORDS[standing]] = (lost[STANDING_WORDS[standing]] ?? 0) + n;
    for (const [reason, n] of Object.entries(epoch.zeroed_by_reason)) lost[`zeroed: ${reason.replaceAll("_", " ")}`] = (lost[`zeroed: ${reason.replaceAll("_", " ")}`] ?? 0) + n;
  }
  const lostRows = Object.entries(lost).map(([why, n]) => h("tr", {}, h("td", {}, why), h("td", {}, count(n))));
  show(
    "Operator",
    h("p", { class: "mono key-line" }, operator.operator),
    h(
      "div",
      { class: "cards" },
      card("Devices", count(operator.device_count), `in epoch ${operator.epoch}`),
      card("Recipient", keyLink("recipient", operator.recipient), operator.registered ? null : "not registered"),
      card("Delegated stake (active)", tokens(operator.active_stake)),
      claimCard("Claimable by its recipient", operator.claim),
    ),
    h("h2", {}, "Totals per epoch"),
    table(
      ["Epoch", "Earned", "Devices", "Earning", "Zeroed"],
      operator.epochs.map((epoch) =>
        h(
          "tr",
          {},
          h("td", {}, String(epoch.epoch)),
          h("td", {}, tokens(epoch.amount)),
          h("td", {}, count(epoch.devices)),
          h("td", {}, count(epoch.standings.earned)),
          h("td", {}, Object.entries(epoch.zeroed_by_reason).map(([reason, n]) => `${reason.replaceAll("_", " ")}: ${n}`).join(", ") || "none"),
        ),
      ),
    ),
    h("h2", {}, "Why its devices lost rewards"),
    lostRows.length ? table(["Reason", "Device-epochs"], lostRows) : h("p", {}, "None of its devices lost rewards in these epochs."),
    h("h2", {}, `Devices${operator.device_count > operator.devices.length ? ` (the ${operator.devices.length} highest earners)` : ""}`),
    table(["Device", "Standing", "Earned", "Cell"], deviceRows(operator.devices)),
  );
}

async function recipientPage(key) {
  const show = pager();
  show("Recipient", h("p", { class: "loading" }, "Reading the recipient…"));
  await ensureDecimals();
  let recipient;
  try {
    recipient = await getJson(`/v1/explorer/recipients/${encodeURIComponent(key)}`);
  } catch (error) {
    return show("Recipient", h("p", { class: "mono" }, key), problem(error));
  }
  show(
    "Recipient",
    h("p", { class: "mono key-line" }, recipient.recipient),
    h(
      "div",
      { class: "cards" },
      card(`Earned in epoch ${recipient.epoch}`, tokens(recipient.earned_in_epoch)),
      card("Earned since genesis", tokens(recipient.cumulative), `as of epoch ${recipient.epoch}`),
      claimCard("Claimable", recipient.claim),
      card("Devices paying to it", count(recipient.device_count)),
    ),
    table(["Device", "Standing", "Earned", "Cell"], deviceRows(recipient.devices)),
  );
}

// ---------------------------------------------------------------------------------------
// The oracle: health, the chain view, sealed epochs, peers, submissions.

function valueView(value) {
  if (value === null || value === undefined) return "–";
  if (Array.isArray(value)) return value.length ? h("ul", {}, value.map((item) => h("li", {}, valueView(item)))) : "none";
  if (typeof value === "object") {
    return h("dl", { class: "numbers" }, Object.entries(value).map(([name, inner]) => [h("dt", {}, name.replaceAll("_", " ")), h("dd", {}, valueView(inner))]));
  }
  return String(value);
}

async function oraclePage() {
  const show = pager();
  show("Oracle", h("p", { class: "loading" }, "Reading the oracle…"));
  const [health, network] = await Promise.all([
    getJson("/healthz", { acceptStatus: [503] }).catch((error) => ({ error: error.message })),
    getJson("/v1/explorer/network").catch((error) => ({ error: error.message })),
  ]);
  // An oracle without a [submit] section votes nothing: its health names no submit stage.
  const submissions = health.submit
    ? await getJson("/v1/submissions").catch((error) => ({ error: error.message }))
    : { error: "This oracle has no [submit] section: it computes and serves roots but votes none." };
  let work = null;
  if (network.newest_verified_epoch !== null && network.newest_verified_epoch !== undefined) {
    work = await getJson(`/v1/epochs/${network.newest_verified_epoch}/rewards`).catch((error) => ({ error: error.message }));
  }
  // The epochs around the newest verified one, as this oracle's store holds them: sealed (with
  // their manifests), sealing or still open.
  const newestVerified = network.newest_verified_epoch ?? null;
  const firstShown = newestVerified === null ? 0 : Math.max(0, newestVerified - 3);
  const lastShown = newestVerified === null ? 2 : newestVerified + 2;
  const stored = [];
  for (let epoch = lastShown; epoch >= firstShown; epoch -= 1) stored.push(epoch);
  const storedEpochs = await Promise.all(stored.map((epoch) => getJson(`/v1/epochs/${epoch}`).catch((error) => ({ epoch, error: error.message }))));
  const { status, problems, ...fields } = health;
  show(
    "Oracle",
    h("div", { class: "cards" }, card("Health", h("span", { class: `health health-${status}` }, status ?? "unknown"), (problems ?? []).join("; ") || "no problem")),
    h("h2", {}, "Stages"),
    valueView(fields),
    h("h2", {}, "Epochs in this oracle's store"),
    table(
      ["Epoch", "State", "Messages", "Conflicting copies", "Seals at", "Manifest digest"],
      storedEpochs.map((epoch) =>
        h(
          "tr",
          {},
          h("td", {}, String(epoch.epoch)),
          h("td", {}, epoch.error ?? epoch.status),
          h("td", {}, epoch.manifest ? count(epoch.manifest.messages) : "–"),
          h("td", {}, epoch.manifest ? count(epoch.manifest.conflicts) : "–"),
          h("td", {}, epoch.sealed_at_ms ? when(Math.floor(Number(epoch.sealed_at_ms) / 1000)) : "–"),
          h("td", { class: "mono" }, epoch.manifest?.digest ? `${epoch.manifest.digest.slice(0, 16)}…` : "–"),
        ),
      ),
    ),
    work
      ? [
          h("h2", {}, `Epoch ${work.epoch ?? network.newest_verified_epoch}: the sets merged`),
          work.error
            ? h("p", { class: "problem" }, work.error)
            : [
                h("p", {}, `Union: ${count(work.inputs.union.messages)} messages, digest ${work.inputs.union.digest.slice(0, 16)}…; ${work.inputs.missing_peer_sets} peers' sets missing.`),
                table(
                  ["Peer", "Messages", "New to this oracle", "Refused"],
                  work.inputs.peers_merged.map((peer) => h("tr", {}, h("td", {}, peer.peer), h("td", {}, count(peer.messages)), h("td", {}, count(peer.new_to_this_oracle)), h("td", {}, Object.entries(peer.refused ?? {}).map(([why, n]) => `${why.replaceAll("_", " ")}: ${n}`).join(", ") || "none"))),
                ),
                work.inputs.peers_missing.length
                  ? table(["Peer missing", "Last failure"], work.inputs.peers_missing.map((peer) => h("tr", {}, h("td", {}, peer.peer), h("td", {}, peer.last_failure ?? "–"))))
                  : null,
              ],
        ]
      : null,
    h("h2", {}, "Submissions"),
    submissions.error
      ? h("p", {}, submissions.error)
      : Array.isArray(submissions.epochs)
        ? table(
            ["Epoch", "State", "Root", "Attempts", "Why"],
            submissions.epochs.map((epoch) =>
              h(
                "tr",
                {},
                h("td", {}, String(epoch.epoch)),
                h("td", {}, epoch.state ?? "–"),
                h("td", { class: "mono", title: epoch.root ?? "" }, epoch.root ? epoch.root.slice(0, 16) + "…" : "–"),
                h("td", {}, String(epoch.attempts?.length ?? 0)),
                h("td", {}, epoch.reason ?? ""),
              ),
            ),
          )
        : valueView(submissions),
  );
}

// ---------------------------------------------------------------------------------------
// Search and routing.

async function searchPage(text) {
  const show = pager();
  show("Search", h("p", { class: "loading" }, `Looking for ${text}…`));
  let answer;
  try {
    answer = await getJson(`/v1/explorer/search?q=${encodeURIComponent(text)}`);
  } catch (error) {
    return show("Search", problem(error));
  }
  if (!show.current()) return;
  if (answer.results.length === 1 && answer.results[0].key === text.trim()) {
    location.replace(`#/${answer.results[0].kind}/${answer.results[0].key}`);
    return;
  }
  show(
    "Search",
    h("p", {}, answer.results.length ? `Keys starting with “${answer.query}”:` : `No device, operator or recipient key starts with “${answer.query}” (at least 3 characters).`),
    h("ul", { class: "results" }, answer.results.map((result) => h("li", {}, h("a", { href: `#/${result.kind}/${result.key}`, class: "mono" }, result.key), ` ${result.kind}`))),
  );
}

function route() {
  visit += 1;
  activeMap?.destroy();
  activeMap = null;
  const [, name = "", ...rest] = location.hash.replace(/^#/, "").split("/");
  let argument = rest.join("/");
  try {
    argument = decodeURIComponent(argument);
  } catch {
    // A malformed %-escape in the address: the text as typed.
  }
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("current", link.dataset.page === (name || "network"));
  switch (name) {
    case "":
    case "network":
      return networkPage();
    case "map":
      return mapPage();
    case "device":
      return devicePage(argument);
    case "operator":
      return operatorPage(argument);
    case "recipient":
      return recipientPage(argument);
    case "oracle":
      return oraclePage();
    case "search":
      return searchPage(argument);
    default:
      return page("Not found", h("p", {}, `The explorer has no page “${name}”.`), h("a", { href: "#/" }, "The network"));
  }
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = document.getElementById("search-text").value.trim();
  if (text) location.hash = `#/search/${encodeURIComponent(text)}`;
});
window.addEventListener("hashchange", route);
route();
