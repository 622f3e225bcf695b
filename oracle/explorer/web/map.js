// The device map: a canvas in Web Mercator (the world 256 × 2^zoom pixels wide), country
// outlines from Natural Earth's TopoJSON (served by the oracle itself), and the devices the
// oracle answers for the view — one by one as their H3 cells when few are in view, else
// clustered by H3 cell, each cluster a pie of its devices' standings. Drag or swipe to pan,
// wheel, pinch, double-click or the buttons to zoom; a cluster zooms in when clicked, a
// device opens its page.

export const STANDING_COLOURS = {
  earned: "#2e9e5b",
  unverified_coverage: "#e0a526",
  no_coverage: "#8a94a6",
  zeroed: "#d64545",
  not_eligible: "#5b7bd5",
};
export const STANDING_WORDS = {
  earned: "earned",
  unverified_coverage: "coverage unverified",
  no_coverage: "no coverage",
  zeroed: "zeroed",
  not_eligible: "not eligible",
};
// Each fraud rule its own shade of red, so a map shows which rule zeroed a place's devices.
export const REASON_COLOURS = {
  impossible_movement: "#c81e1e",
  seq_conflict: "#a3286b",
  two_places_in_one_slot: "#e2643c",
  clock_backwards: "#b4462f",
  self_witness: "#8f1d1d",
  suspended: "#7a3b3b",
  denylisted: "#4a1010",
};
const STANDING_ORDER = ["earned", "unverified_coverage", "no_coverage", "zeroed", "not_eligible"];
const WORLD = 256;
const MAX_LATITUDE = 85.0511287798;
const MIN_ZOOM = 0.5;
const MAX_ZOOM = 18;

export function project(lng, lat) {
  const clamped = Math.max(-MAX_LATITUDE, Math.min(MAX_LATITUDE, lat));
  const sin = Math.sin((clamped * Math.PI) / 180);
  return [
    ((lng + 180) / 360) * WORLD,
    (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * WORLD,
  ];
}

export function unproject(x, y) {
  const lng = (x / WORLD) * 360 - 180;
  const n = Math.PI - (2 * Math.PI * y) / WORLD;
  return [lng, (180 / Math.PI) * Math.atan(Math.sinh(n))];
}

// The countries of a TopoJSON topology as one Path2D in world pixels at zoom 0.
export function countryPath(topology) {
  const [scaleX, scaleY] = topology.transform.scale;
  const [translateX, translateY] = topology.transform.translate;
  const arcs = topology.arcs.map((arc) => {
    let x = 0;
    let y = 0;
    return arc.map(([dx, dy]) => {
      x += dx;
      y += dy;
      return project(x * scaleX + translateX, y * scaleY + translateY);
    });
  });
  const path = new Path2D();
  const ring = (indices) => {
    const points = [];
    for (const index of indices) {
      const arc = index >= 0 ? arcs[index] : arcs[~index].slice().reverse();
      points.push(...(points.length ? arc.slice(1) : arc));
    }
    // A ring that crosses the antimeridian (Russia, Fiji, Antarctica) jumps across the whole
    // map between two points: the jump is not drawn.
    points.forEach(([x, y], i) => {
      if (i && Math.abs(x - points[i - 1][0]) < WORLD / 2) path.lineTo(x, y);
      else path.moveTo(x, y);
    });
  };
  for (const geometry of topology.objects.countries.geometries) {
    if (geometry.type === "Polygon") geometry.arcs.forEach(ring);
    if (geometry.type === "MultiPolygon") geometry.arcs.forEach((polygon) => polygon.forEach(ring));
  }
  return path;
}

export class DeviceMap {
  // onDevice(key): a device was clicked; onAnswer(answer): the oracle answered for a view.
  constructor(container, { countries, fetchView, onDevice, onAnswer }) {
    this.container = container;
    this.countries = countries;
    this.fetchView = fetchView;
    this.onDevice = onDevice;
    this.onAnswer = onAnswer;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "map-canvas";
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("aria-label", "Map of the network's devices");
    container.append(this.canvas);
    this.context = this.canvas.getContext("2d");
    this.centre = project(0, 20);
    this.zoom = 1.5;
    this.answer = null;
    this.pointers = new Map();
    this.requested = 0;
    this.firstRender = null;
    this.listen();
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
    this.resize();
  }

  destroy() {
    this.resizeObserver.disconnect();
    clearTimeout(this.pending);
    this.controller?.abort();
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const { width, height } = this.container.getBoundingClientRect();
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.canvas.width = Math.round(this.width * ratio);
    this.canvas.height = Math.round(this.height * ratio);
    this.ratio = ratio;
    this.draw();
    this.scheduleFetch();
  }

  get scale() {
    return 2 ** this.zoom;
  }

  // Screen pixel of a world point at zoom 0.
  toScreen([x, y]) {
    return [(x - this.centre[0]) * this.scale + this.width / 2, (y - this.centre[1]) * this.scale + this.height / 2];
  }

  toWorld(sx, sy) {
    return [(sx - this.width / 2) / this.scale + this.centre[0], (sy - this.height / 2) / this.scale + this.centre[1]];
  }

  // Centres the map on the devices of an answer (the first answer's world), keeping the zoom
  // within what shows them all.
  fit(points) {
    if (!points.length) return;
    const projected = points.map(([lat, lng]) => project(lng, lat));
    const xs = projected.map((p) => p[0]);
    const ys = projected.map((p) => p[1]);
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    this.centre = [(minX + maxX) / 2, (minY + maxY) / 2];
    const span = Math.max(maxX - minX, maxY - minY, 1e-6);
    const fitting = Math.log2(Math.min(this.width, this.height) / 1.6 / span);
    this.zoom = Math.max(MIN_ZOOM, Math.min(12, fitting));
    this.draw();
    this.scheduleFetch();
  }

  view() {
    const [west, north] = unproject(...this.toWorld(0, 0));
    const [east, south] = unproject(...this.toWorld(this.width, this.height));
    const clampLng = (lng) => Math.max(-180, Math.min(180, lng));
    const clampLat = (lat) => Math.max(-90, Math.min(90, lat));
    return {
      west: clampLng(west),
      south: clampLat(south),
      east: clampLng(east),
      north: clampLat(north),
      zoom: Math.max(0, Math.min(24, this.zoom)),
    };
  }

  scheduleFetch() {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.load(), 120);
  }

  async load() {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const requested = ++this.requested;
    // The first answer covers the whole world: the page then fits the network in view.
    const view = this.answered === undefined ? { west: -180, south: -85, east: 180, north: 85, zoom: this.zoom } : this.view();
    try {
      const answer = await this.fetchView(view, controller.signal);
      if (requested !== this.requested) return;
      this.answer = answer;
      this.answered = requested;
      this.draw();
      if (this.firstRender === null) {
        this.firstRender = performance.now();
        performance.mark("explorer-map-first-render");
      }
      this.onAnswer?.(answer);
    } catch (error) {
      if (error.name !== "AbortError") this.onAnswer?.({ error: error.message });
    }
  }

  zoomAround(sx, sy, delta) {
    const before = this.toWorld(sx, sy);
    this.zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, this.zoom + delta));
    const after = this.toWorld(sx, sy);
    this.centre = [this.centre[0] + before[0] - after[0], this.centre[1] + before[1] - after[1]];
    this.draw();
    this.scheduleFetch();
  }

  panBy(dx, dy) {
    this.centre = [this.centre[0] - dx / this.scale, this.centre[1] - dy / this.scale];
    this.draw();
    this.scheduleFetch();
  }

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const rect = canvas.getBoundingClientRect();
        this.zoomAround(event.clientX - rect.left, event.clientY - rect.top, -event.deltaY / 300);
      },
      { passive: false },
    );
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY, startX: event.clientX, startY: event.clientY });
    });
    canvas.addEventListener("pointermove", (event) => {
      const pointer = this.pointers.get(event.pointerId);
      if (!pointer) return;
      if (this.pointers.size === 2) {
        this.multiTouch = true;
        const [a, b] = [...this.pointers.values()];
        const before = Math.hypot(a.x - b.x, a.y - b.y);
        pointer.x = event.clientX;
        pointer.y = event.clientY;
        const after = Math.hypot(a.x - b.x, a.y - b.y);
        if (before > 0 && after > 0) {
          const rect = canvas.getBoundingClientRect();
          this.zoomAround((a.x + b.x) / 2 - rect.left, (a.y + b.y) / 2 - rect.top, Math.log2(after / before));
        }
        return;
      }
      this.panBy(event.clientX - pointer.x, event.clientY - pointer.y);
      pointer.x = event.clientX;
      pointer.y = event.clientY;
    });
    const release = (event) => {
      const pointer = this.pointers.get(event.pointerId);
      this.pointers.delete(event.pointerId);
      // A pinch is no click, even when its last finger lifts where it started.
      const wasPinch = this.multiTouch;
      if (this.pointers.size === 0) this.multiTouch = false;
      if (pointer && !wasPinch && this.pointers.size === 0 && Math.hypot(event.clientX - pointer.startX, event.clientY - pointer.startY) < 5) {
        const rect = canvas.getBoundingClientRect();
        this.click(event.clientX - rect.left, event.clientY - rect.top);
      }
    };
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", (event) => {
      this.pointers.delete(event.pointerId);
      if (this.pointers.size === 0) this.multiTouch = false;
    });
    canvas.addEventListener("dblclick", (event) => {
      const rect = canvas.getBoundingClientRect();
      this.zoomAround(event.clientX - rect.left, event.clientY - rect.top, 1);
    });
    canvas.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: [60, 0], ArrowRight: [-60, 0], ArrowUp: [0, 60], ArrowDown: [0, -60] };
      if (moves[event.key]) this.panBy(...moves[event.key]);
      else if (event.key === "+" || event.key === "=") this.zoomAround(this.width / 2, this.height / 2, 1);
      else if (event.key === "-") this.zoomAround(this.width / 2, this.height / 2, -1);
      else return;
      event.preventDefault();
    });
  }

  // What is drawn at a screen point: a device or a cluster, nearest first.
  hit(sx, sy) {
    let best = null;
    for (const item of this.drawn ?? []) {
      const distance = Math.hypot(item.x - sx, item.y - sy);
      if (distance <= item.radius + 3 && (!best || distance < best.distance)) best = { ...item, distance };
    }
    return best;
  }

  click(sx, sy) {
    const hit = this.hit(sx, sy);
    if (!hit) return;
    if (hit.device) this.onDevice?.(hit.device);
    else this.zoomAround(hit.x, hit.y, 2);
  }

  draw() {
    const context = this.context;
    if (!context) return;
    context.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    context.fillStyle = "#dbe7f3";
    context.fillRect(0, 0, this.width, this.height);
    if (this.countries) {
      const scale = this.scale;
      context.save();
      context.setTransform(
        this.ratio * scale,
        0,
        0,
        this.ratio * scale,
        this.ratio * (this.width / 2 - this.centre[0] * scale),
        this.ratio * (this.height / 2 - this.centre[1] * scale),
      );
      context.fillStyle = "#f6f4ee";
      context.strokeStyle = "#9aa5b1";
      context.lineWidth = 0.8 / scale;
      context.fill(this.countries, "evenodd");
      context.stroke(this.countries);
      context.restore();
    }
    this.drawn = [];
    const answer = this.answer;
    if (!answer || answer.error) return;
    for (const cluster of answer.clusters ?? []) this.drawCluster(cluster);
    for (const device of answer.devices ?? []) this.drawDevice(device);
  }

  drawCluster(cluster) {
    const context = this.context;
    const [x, y] = this.toScreen(project(cluster.lng, cluster.lat));
    if (x < -40 || y < -40 || x > this.width + 40 || y > this.height + 40) return;
    const total = Number(cluster.devices);
    const radius = Math.min(34, 7 + 3.2 * Math.sqrt(total));
    let angle = -Math.PI / 2;
    cluster.standings.forEach((count, slot) => {
      if (!count) return;
      const sweep = (2 * Math.PI * Number(count)) / total;
      context.beginPath();
      context.moveTo(x, y);
      context.arc(x, y, radius, angle, angle + sweep);
      context.closePath();
      context.fillStyle = STANDING_COLOURS[STANDING_ORDER[slot]];
      context.fill();
      angle += sweep;
    });
    context.beginPath();
    context.arc(x, y, radius, 0, 2 * Math.PI);
    context.strokeStyle = "#ffffff";
    context.lineWidth = 1.5;
    context.stroke();
    if (radius >= 12) {
      context.fillStyle = "#111827";
      context.font = "bold 11px system-ui, sans-serif";
      context.textAlign = "center";
      context.textBaseline = "middle";
      const label = total >= 10000 ? `${Math.round(total / 1000)}k` : String(total);
      context.fillText(label, x, y);
    }
    this.drawn.push({ x, y, radius, cluster: cluster.cell });
  }

  drawDevice(device) {
    const context = this.context;
    if (device.lat === null || device.lng === null) return;
    const [x, y] = this.toScreen(project(device.lng, device.lat));
    if (x < -60 || y < -60 || x > this.width + 60 || y > this.height + 60) return;
    const colour = device.reason ? REASON_COLOURS[device.reason] ?? STANDING_COLOURS.zeroed : STANDING_COLOURS[device.standing];
    // A cell across the antimeridian: its corners' longitudes taken on the device's side.
    const unwrap = (lng) => (lng - device.lng > 180 ? lng - 360 : lng - device.lng < -180 ? lng + 360 : lng);
    const corners = (device.boundary ?? []).map(([lat, lng]) => this.toScreen(project(unwrap(lng), lat)));
    const size = corners.length ? Math.max(...corners.map(([cx, cy]) => Math.hypot(cx - x, cy - y))) : 0;
    context.fillStyle = colour;
    context.strokeStyle = "#1f2937";
    context.lineWidth = 1;
    if (size >= 7) {
      context.beginPath();
      corners.forEach(([cx, cy], i) => (i ? context.lineTo(cx, cy) : context.moveTo(cx, cy)));
      context.closePath();
      context.globalAlpha = 0.75;
      context.fill();
      context.globalAlpha = 1;
      context.stroke();
    } else {
      context.beginPath();
      context.arc(x, y, 5, 0, 2 * Math.PI);
      context.fill();
      context.stroke();
    }
    this.drawn.push({ x, y, radius: Math.max(5, size * 0.85), device: device.device });
  }
}
