// Nuanxin overview on vector tiles (/map/vector): MapLibre draws /styles/nuanxin.json; this
// script adds the legend (each kind can be hidden), "open only", popups and the count in view.
"use strict";
const CONFIG = JSON.parse(document.getElementById("config").textContent);
const { labels: LABELS, words: WORDS } = CONFIG;
const ROOT = CONFIG.root;
const $ = (id) => document.getElementById(id);
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
const label = (code) => LABELS[code] || code;
const hidden = new Set();  // kinds the reader switched off
let openOnly = false;

function setStatus(text, state) {
  $("status").textContent = text;
  if (state) document.body.dataset.state = state;
}

// Each station layer keeps the style's own filter (open / not open) and adds the reader's.
function applyFilters(map, baseFilters) {
  document.body.dataset.state = "drawing";  // until the map is idle again
  const shown = CONFIG.kinds.filter((k) => !hidden.has(k));
  for (const id of CONFIG.station_layers) {
    const parts = [baseFilters[id], ["in", ["get", "kind"], ["literal", shown]]];
    if (openOnly) parts.push(["==", ["get", "status"], CONFIG.open]);
    map.setFilter(id, ["all", ...parts]);
  }
}

function legend(map, baseFilters) {
  const box = $("kinds");
  for (const kind of CONFIG.kinds) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.kind = kind;
    button.setAttribute("aria-pressed", "true");
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.style.background = CONFIG.colours[kind] || "#555";
    button.append(dot, label(kind));
    button.addEventListener("click", () => {
      const shown = hidden.has(kind);
      if (shown) hidden.delete(kind); else hidden.add(kind);
      button.setAttribute("aria-pressed", String(shown));
      applyFilters(map, baseFilters);
    });
    box.append(button);
  }
  $("open-only").addEventListener("change", (event) => {
    openOnly = event.target.checked;
    applyFilters(map, baseFilters);
  });
}

function line(name, value) {
  const p = document.createElement("p");
  if (name) {
    const b = document.createElement("b");
    b.textContent = name + ": ";
    p.append(b);
  }
  p.append(value);
  return p;
}

// Tiles carry codes only: every word shown comes from LABELS, every value is text (no HTML).
function stationPopup(props) {
  const box = document.createElement("div");
  const title = document.createElement("h3");
  title.textContent = props.name;
  box.append(title, line("", `${label(props.kind)} · ${label(props.status)}`));
  if (props.opening_hours) box.append(line(WORDS.hours, props.opening_hours));
  const amenities = (props.amenities || "").split(",").filter(Boolean).map(label);
  if (amenities.length) box.append(line(WORDS.amenities, amenities.join(CONFIG.lang === "en" ? ", " : "、")));
  return box;
}

function countInView(map) {
  if (map.getZoom() < 8) {
    setStatus(WORDS.zoom_in, "ready");
    return;
  }
  const seen = new Map();
  for (const f of map.queryRenderedFeatures({ layers: CONFIG.station_layers })) {
    seen.set(f.id, f.properties.status);
  }
  const open = [...seen.values()].filter((s) => s === CONFIG.open).length;
  setStatus(fill(WORDS.in_view, { n: seen.size, o: open }), "ready");
  document.body.dataset.inView = String(seen.size);
}

function start() {
  // On a phone the legend starts folded, so the map is seen first.
  if (window.matchMedia("(max-width: 600px)").matches) $("legend").open = false;
  // MapLibre 5 needs WebGL2; without it, say so and point to the Leaflet map.
  const probe = document.createElement("canvas");
  if (!probe.getContext("webgl2")) {
    $("no-webgl").hidden = false;
    setStatus("", "no-webgl");
    return;
  }
  maplibregl.setWorkerUrl(document.body.dataset.worker);
  const map = new maplibregl.Map({
    container: "map",
    style: location.origin + ROOT + "/styles/nuanxin.json",
    attributionControl: { compact: true, customAttribution: "Nuanxin · 示意数据 illustrative" },
    dragRotate: false,
    pitchWithRotate: false,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  const errors = [];
  map.on("error", (event) => {
    errors.push(String(event.error && event.error.message || event.error));
    setStatus(fill(WORDS.error, { e: errors[errors.length - 1] }), "error");
  });
  map.on("load", async () => {
    const baseFilters = Object.fromEntries(
      CONFIG.station_layers.map((id) => [id, map.getFilter(id)]));
    legend(map, baseFilters);
    for (const id of CONFIG.station_layers) {
      map.on("click", id, (event) => {
        const feature = event.features[0];
        new maplibregl.Popup({ maxWidth: "280px" })
          .setLngLat(feature.geometry.coordinates)
          .setDOMContent(stationPopup(feature.properties))
          .addTo(map);
      });
      map.on("mouseenter", id, () => { map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", id, () => { map.getCanvas().style.cursor = ""; });
    }
    // Open on the stations: their TileJSON names the extent of the data.
    const tilejson = await fetch(ROOT + "/tiles/stations.json").then((r) => r.json());
    const [w, s, e, n] = tilejson.bounds;
    map.fitBounds([[w, s], [e, n]], { padding: 40, duration: 0 });
    map.on("movestart", () => { document.body.dataset.state = "drawing"; });
    map.on("idle", () => { if (!errors.length) countInView(map); });
  });
  window.nuanxin = { map, errors };  // for tests and the browser console
}

start();
