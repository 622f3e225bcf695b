// Small SVG charts for the network page: grouped bars per epoch and a line, drawn from plain
// numbers (amounts arrive as Number or BigInt; a chart's heights need no more than a Number's
// precision). Every element is made with the DOM API: nothing from the data is parsed as HTML.

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) {
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

const asNumber = (value) => (typeof value === "bigint" ? Number(value) : Number(value ?? 0));

// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten at or above `max`.
function niceCeiling(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

const WIDTH = 560;
const LEFT = 72;
const TOP = 8;
const BOTTOM = 22;

// The chart's frame both kinds share: the svg, its plot area, and three grid lines labelled
// with `axisFormat` of the values from `low` to `high`. Returns the svg and where a value and
// an x label go.
function frame(title, height, low, high, axisFormat) {
  const plotWidth = WIDTH - LEFT - 8;
  const plotHeight = height - TOP - BOTTOM;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "chart", role: "img", "aria-label": title });
  for (const fraction of [0, 0.5, 1]) {
    const y = TOP + plotHeight * (1 - fraction);
    chart.append(
      svg("line", { x1: LEFT, x2: WIDTH - 8, y1: y, y2: y, class: "grid" }),
      svg("text", { x: LEFT - 6, y: y + 4, class: "axis", "text-anchor": "end" }, axisFormat(low + (high - low) * fraction)),
    );
  }
  const yOf = (value) => TOP + plotHeight * (1 - (asNumber(value) - low) / (high - low));
  // At most about 12 epoch labels along the x axis.
  const xLabels = (labels, xOf) => {
    const every = Math.ceil(labels.length / 12);
    labels.forEach((label, index) => {
      if (index % every === 0) {
        chart.append(svg("text", { x: xOf(index), y: height - 6, class: "axis", "text-anchor": "middle" }, String(label)));
      }
    });
  };
  return { chart, plotWidth, plotHeight, yOf, xLabels };
}

// Grouped bars: `labels` along the x axis (oldest first), one bar per series per label.
// series: [{ name, colour, values }]; format(value) writes an axis value.
export function barChart({ title, labels, series, format, axisFormat = format, height = 180 }) {
  const max = niceCeiling(Math.max(0, ...series.flatMap((one) => one.values.map(asNumber))));
  const { chart, plotWidth, yOf, xLabels } = frame(title, height, 0, max, axisFormat);
  const groupWidth = plotWidth / Math.max(1, labels.length);
  const barWidth = Math.max(1, (groupWidth * 0.8) / Math.max(1, series.length));
  const x0Of = (index) => LEFT + index * groupWidth + groupWidth * 0.1;
  labels.forEach((label, index) => {
    series.forEach((one, seriesIndex) => {
      const y = yOf(one.values[index]);
      chart.append(
        svg(
          "rect",
          {
            x: x0Of(index) + seriesIndex * barWidth,
            y,
            width: Math.max(1, barWidth - 1),
            height: Math.max(0, yOf(0) - y),
            fill: one.colour,
          },
          svg("title", {}, `${one.name}, epoch ${label}: ${format(one.values[index])}`),
        ),
      );
    });
  });
  xLabels(labels, (index) => x0Of(index) + (groupWidth * 0.8) / 2);
  return figure(title, chart, series);
}

// A line per series over the labels (oldest first). `fromZero: false` fits the axis to the
// values (a supply that moves by 0.1% a day would otherwise be a flat line).
export function lineChart({ title, labels, series, format, axisFormat = format, height = 180, fromZero = true }) {
  // A value not known (null) is left out: the line joins the known ones.
  const known = (value) => value !== null && value !== undefined;
  const values = series.flatMap((one) => one.values.filter(known).map(asNumber));
  let low = 0;
  let high = niceCeiling(Math.max(0, ...values));
  if (!fromZero && values.length) {
    const [min, max] = [Math.min(...values), Math.max(...values)];
    const pad = (max - min) * 0.1 || Math.abs(max) * 0.001 || 1;
    [low, high] = [min - pad, max + pad];
  }
  const { chart, plotWidth, yOf, xLabels } = frame(title, height, low, high, axisFormat);
  const step = labels.length > 1 ? plotWidth / (labels.length - 1) : 0;
  const xOf = (index) => LEFT + (labels.length > 1 ? index * step : plotWidth / 2);
  for (const one of series) {
    const points = one.values.flatMap((value, index) => (known(value) ? [`${xOf(index)},${yOf(value)}`] : []));
    chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: one.colour, "stroke-width": 2 }));
    one.values.forEach((value, index) => {
      if (!known(value)) return;
      chart.append(
        svg("circle", { cx: xOf(index), cy: yOf(value), r: 3, fill: one.colour }, svg("title", {}, `${one.name}, epoch ${labels[index]}: ${format(value)}`)),
      );
    });
  }
  xLabels(labels, xOf);
  return figure(title, chart, series);
}

function figure(title, chart, series) {
  const figureElement = document.createElement("figure");
  figureElement.className = "chart-figure";
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  const legend = document.createElement("div");
  legend.className = "legend";
  for (const one of series) {
    const key = document.createElement("span");
    key.className = "legend-key";
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = one.colour;
    key.append(swatch, document.createTextNode(one.name));
    legend.append(key);
  }
  figureElement.append(caption, chart, legend);
  return figureElement;
}
