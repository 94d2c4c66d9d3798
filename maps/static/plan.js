/* Nuanxin: the planner's workbench (/plan). No framework; Leaflet only.
 * Computes no figure itself: coverage, what-if and siting are the API's (/coverage,
 * /coverage/what-if, /jobs/siting), the same analysis as the CLI. Words, palette and
 * vocabularies come from the server in #config. The whole state lives in the URL. */
"use strict";
(function () {
  const C = JSON.parse(document.getElementById("config").textContent);
  const T = C.t, CRS = C.basemap.crs;
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const fmt = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k]);
  const num = (v) => (v === null || v === undefined || Number.isNaN(v) ? "–"
    : (Math.round(v) || 0).toLocaleString(C.lang === "en" ? "en" : "zh-CN"));
  const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
  const signed = (v, f) => (v === null || v === undefined ? "–"
    : (v > 0 ? "+" : v < 0 ? "−" : "±") + f(Math.abs(v)));

  const S = {
    areas: [], picked: [], vintage: null, kinds: [], statuses: ["open"], at: "", walk: 15,
    changes: [], stations: [], result: null, after: null, view: "before", job: null,
    proposals: [], sort: { key: "rank", asc: true }, open: new Set(), highlighted: null,
  };

  // ---- messages: one line at the top for problems, a status line under the map ----
  function say(text, tone) {
    const box = $("message");
    box.hidden = !text;
    box.textContent = text || "";
    box.dataset.tone = tone || "error";
  }
  function status(text) { $("status").textContent = text || ""; }

  async function problemText(response) {
    try {
      const problem = await response.json();
      return problem.detail || problem.title || `${response.status}`;
    } catch (_) { return `${response.status} ${response.statusText}`; }
  }
  // Behind a proxy the site may live under a prefix (C.root, e.g. "/nuanxin"): every API path
  // this page asks for starts with "/" and is put under it here, in the one place it fetches.
  const R = C.root || "";
  async function call(url, options) {
    let response;
    const where = url.startsWith("/") ? R + url : url;
    try { response = await fetch(where, options); } catch (_) { throw new Error(T.offline); }
    if (!response.ok) throw new Error(await problemText(response));
    return response;
  }
  const getJSON = async (url) => (await call(url, { headers: { Accept: "application/json" } }))
    .json();
  const postJSON = (url, data, headers) => call(url, {
    method: "POST", body: JSON.stringify(data),
    headers: { "Content-Type": "application/json", ...(headers || {}) },
  });
  const failed = (error) => say(fmt(T.error, { e: error.message }));

  // ---- the URL: scope, moment and what-if, so a link restores the view ----
  function readURL() {
    const q = new URLSearchParams(location.search);
    const list = (name) => (q.get(name) || "").split(",").filter(Boolean);
    S.picked = list("boundary");
    S.vintage = q.get("vintage");
    S.kinds = list("kind");
    if (q.has("status")) S.statuses = list("status");
    S.at = q.get("at") || "";
    S.walk = Number(q.get("walk") || 15) || 15;
    try { S.changes = JSON.parse(q.get("changes") || "[]"); } catch (_) { S.changes = []; }
    if (!Array.isArray(S.changes)) S.changes = [];
  }
  function writeURL() {
    const q = new URLSearchParams();
    if (C.lang !== "zh") q.set("lang", C.lang);
    if (C.basemap.id !== "none") q.set("basemap", C.basemap.id);
    if (S.picked.length) q.set("boundary", S.picked.join(","));
    if (S.vintage) q.set("vintage", S.vintage);
    if (S.kinds.length) q.set("kind", S.kinds.join(","));
    if (S.statuses.join(",") !== "open") q.set("status", S.statuses.join(","));
    if (S.at) q.set("at", S.at);
    if (S.walk !== 15) q.set("walk", String(S.walk));
    if (S.changes.length) q.set("changes", JSON.stringify(S.changes));
    const url = `${location.pathname}?${q.toString()}`;
    history.replaceState(null, "", url);
    $("share-url").value = location.href;
    $("lang").href = `${R}/plan?${new URLSearchParams([...q.entries()].filter(([k]) => k !== "lang")
      .concat(C.lang === "zh" ? [["lang", "en"]] : [])).toString()}`;
  }

  function scope() {
    const out = { boundary: S.picked, level: "subdistrict", walk_min: S.walk };
    if (S.vintage) out.vintage = S.vintage;
    if (S.kinds.length) out.kind = S.kinds;
    out.status = S.statuses;
    if (S.at) out.at = S.at;
    return out;
  }
  function scopeQuery(f) {
    const q = new URLSearchParams();
    S.picked.forEach((code) => q.append("boundary", code));
    if (S.vintage) q.set("vintage", S.vintage);
    S.kinds.forEach((k) => q.append("kind", k));
    S.statuses.forEach((s) => q.append("status", s));
    if (S.at) q.set("at", S.at);
    q.set("walk_min", String(S.walk));
    q.set("coords", CRS);
    q.set("f", f);
    return q.toString();
  }

  // ---- the map ----
  const map = L.map("map", { zoomSnap: 0.25, attributionControl: false, keyboard: true });
  if (C.basemap.url) {
    L.tileLayer(C.basemap.url, { subdomains: C.basemap.subdomains || "abc",
      maxZoom: C.basemap.max_zoom }).addTo(map);
    L.control.attribution({ prefix: false }).addAttribution(esc(C.basemap.attribution)).addTo(map);
  }
  map.setView([39.86, 116.29], 11);
  L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);
  // Areas and stations on one canvas (thousands of stations stay fast, and one canvas sorts
  // out which was clicked); the hatched gaps and the highlight in an SVG pane above it that
  // lets every click through (an SVG pattern is what hatches, and canvas has none).
  const canvas = L.canvas({ padding: 0.3, tolerance: 4 });
  map.createPane("over").style.zIndex = "450";
  const over = L.svg({ pane: "over" });
  const layers = { areas: null, gaps: null, hi: null, stations: L.layerGroup().addTo(map),
    added: L.layerGroup().addTo(map), proposals: L.layerGroup().addTo(map) };
  window.nuanxin = { map, state: S, layers };
  map.on("movestart", () => { body.dataset.moving = "1"; });  // for tests: wait till still
  map.on("moveend", () => { delete body.dataset.moving; });

  function shareColour(share) {
    if (share === null || share === undefined) return C.no_residents;
    return (C.share_classes.find(([upper]) => share <= upper + 1e-12) || C.share_classes[4])[1];
  }
  function shownRecords() {
    return S.view === "after" && S.after ? S.after : S.result.features.map((f) => f.properties);
  }
  function restyle() {
    if (!layers.areas) return;
    // The hatched gaps are today's: hidden while the map shows the what-if's shares.
    map.getContainer().classList.toggle("after-view", S.view === "after");
    const byCode = new Map(shownRecords().map((r) => [r.code, r]));
    layers.areas.eachLayer((l) => {
      const r = byCode.get(l.feature.id) || l.feature.properties;
      l.setStyle({ color: "#555", weight: 1, fillColor: shareColour(r.share_within_walk),
        fillOpacity: 0.75 });
    });
    if (layers.hi) layers.hi.remove();
    layers.hi = null;
    layers.areas.eachLayer((l) => {
      if (l.feature.id !== S.highlighted) return;
      layers.hi = L.geoJSON(l.feature, { pane: "over", renderer: over, interactive: false,
        style: () => ({ color: C.kind_colours.counselling_point, weight: 4, fill: false }) })
        .addTo(map);
    });
  }

  function legend() {
    const walk = S.result ? S.result.parameters.walk_min : S.walk;
    let html = `<strong>${esc(fmt(T.legend, { walk }))}</strong>`;
    let lower = 0;
    for (const [upper, colour] of C.share_classes) {
      html += `<div><i style="background:${colour}"></i>${Math.round(lower * 100)}–${
        Math.round(upper * 100)}%</div>`;
      lower = upper;
    }
    html += `<div><i style="background:${C.no_residents}"></i>${esc(T.legend_none)}</div>`;
    html += `<div><i class="hatch" style="--gap:${C.gap_colour}"></i>${esc(T.legend_gap)}</div>`;
    const kinds = new Set(S.stations.map((s) => s.properties.kind));
    for (const kind of kinds) {
      html += `<div><i class="dot" style="background:${C.kind_colours[kind]}"></i>${
        esc(C.labels.kinds[kind])}</div>`;
    }
    html += `<div><i class="dot" style="background:#fff"></i>${esc(T.legend_planned)}</div>`;
    $("legend").innerHTML = html;
  }

  // ---- stations as the analysis counts them, with the what-if applied ----
  const COUNTED = () => new Set(S.statuses);
  function planned(station) {
    const id = station.properties.id;
    let status = station.properties.status, latlng = station.geometry.coordinates;
    for (const c of S.changes) {
      if (c.id !== id) continue;
      if (c.action === "close") status = "closed";
      if (c.action === "open") status = "open";
      if (c.action === "move") latlng = [c.lon, c.lat];
    }
    return { status, lonlat: latlng };
  }
  function pin(kind, classes) {
    return L.divIcon({ className: "", iconSize: [14, 14],
      html: `<div class="station-pin ${classes}" style="background:${
        C.kind_colours[kind] || "#555"};width:14px;height:14px"></div>` });
  }
  function stationPopup(station, state) {
    const p = station.properties;
    const counted = COUNTED().has(state.status);
    const action = counted ? "close" : "open";
    return `<strong>${esc(p.name)}</strong><br>${esc(C.labels.kinds[p.kind])} · ${
      esc(C.labels.statuses[state.status] || state.status)}<br>
      <button type="button" class="btn" data-act="${action}" data-id="${esc(p.id)}">${
        esc(action === "close" ? T.close_it : T.open_it)}</button>
      <button type="button" class="btn" data-act="drag" data-id="${esc(p.id)}">${
        esc(T.move_it)}</button>
      <button type="button" class="btn" data-act="centre" data-id="${esc(p.id)}">${
        esc(T.move_centre)}</button>`;
  }
  function renderStations() {
    layers.stations.clearLayers();
    for (const station of S.stations) {
      const state = planned(station);
      const kind = station.properties.kind;
      const counted = COUNTED().has(state.status) && (!S.kinds.length || S.kinds.includes(kind));
      const hollow = ["planned", "under_construction"].includes(state.status);
      const colour = C.kind_colours[kind] || "#555";
      const [lon, lat] = state.lonlat;
      const dot = L.circleMarker([lat, lon], { renderer: canvas, radius: 6,
        color: hollow ? colour : "#fff", weight: hollow ? 2.5 : 1.5, opacity: counted ? 1 : 0.5,
        fillColor: hollow ? "#fff" : colour, fillOpacity: counted ? 1 : 0.35 });
      dot.station = station;
      dot.bindPopup(() => stationPopup(station, state));
      layers.stations.addLayer(dot);
    }
    layers.added.clearLayers();
    S.changes.forEach((c, index) => {
      if (c.action !== "add") return;
      const marker = L.marker([c.lat, c.lon], { icon: pin(c.kind, "hollow added"),
        draggable: true, title: c.name, alt: c.name });
      marker.bindPopup(`<strong>${esc(c.name)}</strong><br><button type="button" class="btn"
        data-act="remove" data-index="${index}">${esc(T.remove)}</button>`);
      marker.on("dragend", () => {
        const to = marker.getLatLng();
        S.changes[index] = { ...S.changes[index], lon: round(to.lng), lat: round(to.lat) };
        changed();
      });
      layers.added.addLayer(marker);
    });
  }
  // A station is moved by dragging a handle put on it from its popup (canvas dots do not drag).
  function dragHandle(station) {
    const [lon, lat] = planned(station).lonlat;
    const handle = L.marker([lat, lon], { icon: pin(station.properties.kind, "moving"),
      draggable: true, title: station.properties.name, alt: station.properties.name,
      zIndexOffset: 1000 }).addTo(layers.added);
    handle.on("dragend", () => {
      const to = handle.getLatLng();
      change({ action: "move", id: station.properties.id, name: station.properties.name,
        lon: round(to.lng), lat: round(to.lat) });
    });
    status(T.move_it);
  }
  map.on("popupopen", (e) => {
    e.popup.getElement().querySelectorAll("button[data-act]").forEach((button) => {
      button.addEventListener("click", () => {
        const { act, id, index } = button.dataset;
        const station = S.stations.find((s) => s.properties.id === id);
        map.closePopup();
        if (act === "remove") { S.changes.splice(Number(index), 1); changed(); return; }
        if (act === "drag") { dragHandle(station); return; }
        if (act === "centre") {
          const c = map.getCenter();
          change({ action: "move", id, name: station.properties.name, lon: round(c.lng),
            lat: round(c.lat) });
          return;
        }
        change({ action: act, id, name: station.properties.name });
      });
    });
  });
  const round = (v) => Math.round(v * 1e7) / 1e7;

  // ---- the what-if list ----
  function change(c) {
    if (c.action !== "add") {  // one change per station: a later one replaces the earlier
      const same = S.changes.findIndex((o) => o.id === c.id && (o.action === c.action
        || (["open", "close"].includes(o.action) && ["open", "close"].includes(c.action))));
      if (same >= 0) S.changes.splice(same, 1);
    }
    S.changes.push(c);
    changed();
  }
  function addAt(latlng) {
    const n = S.changes.filter((c) => c.action === "add").length + 1;
    change({ action: "add", name: fmt(T.new_station, { n }), kind: $("new-kind").value,
      lon: round(latlng.lng), lat: round(latlng.lat) });
  }
  function changed() {
    S.after = null;
    $("view").querySelector('option[value="after"]').disabled = true;
    if (S.view === "after") { S.view = "before"; $("view").value = "before"; restyle(); }
    $("comparison").innerHTML = "";
    $("newly").textContent = "";
    renderChanges();
    renderStations();
    writeURL();
  }
  function renderChanges() {
    const list = $("changes");
    list.innerHTML = S.changes.length ? "" : `<li class="none">${esc(T.no_changes)}</li>`;
    S.changes.forEach((c, index) => {
      const li = document.createElement("li");
      li.dataset.action = c.action;
      li.innerHTML = `${esc(fmt(T[`c_${c.action}`], { name: c.name || c.id }))}${
        c.lon !== undefined ? ` <small>${c.lon.toFixed(5)}, ${c.lat.toFixed(5)}</small>` : ""}
        <button type="button" class="btn ghost">${esc(T.undo)}</button>`;
      li.querySelector("button").addEventListener("click", () => {
        S.changes.splice(index, 1);
        changed();
      });
      list.appendChild(li);
    });
    $("undo-last").disabled = !S.changes.length;
    $("compare").disabled = !S.changes.length;
  }
  let adding = false;
  function setAdding(on) {
    adding = on;
    $("add-mode").setAttribute("aria-pressed", String(on));
    $("add-mode").textContent = on ? T.add_mode_on : T.add_mode;
    map.getContainer().classList.toggle("adding", on);
  }
  $("add-mode").addEventListener("click", () => setAdding(!adding));
  $("add-centre").addEventListener("click", () => addAt(map.getCenter()));
  map.on("click", (e) => { if (adding) { addAt(e.latlng); setAdding(false); } });
  $("undo-last").addEventListener("click", () => { S.changes.pop(); changed(); });

  async function compare() {
    if (!S.picked.length) { say(T.pick_area); return; }
    say("");
    status(T.loading);
    body.dataset.state = "comparing";
    try {
      const response = await postJSON(`/coverage/what-if?coords=${CRS}`,
        { scope: scope(), changes: S.changes });
      const answer = await response.json();
      S.after = answer.after;
      renderComparison(answer);
      $("view").querySelector('option[value="after"]').disabled = false;
      S.view = "after";
      $("view").value = "after";
      restyle();
      status("");
      body.dataset.state = "compared";
    } catch (error) { failed(error); status(""); body.dataset.state = "error"; }
  }
  function renderComparison(answer) {
    const newly = answer.newly_within_walk;
    const show = (v) => (v === null ? T.unknown : num(v));
    $("newly").textContent = fmt(T.newly, { r: show(newly.residents), w: show(newly.workers) });
    $("newly").dataset.residents = String(newly.residents);
    $("newly").dataset.workers = String(newly.workers);
    const head = `<thead><tr><th scope="col">${esc(T.rank)}</th><th scope="col">${esc(T.name)}</th>
      <th scope="col">${esc(T.share)} · ${esc(T.before)}</th><th scope="col">${esc(T.after)}</th>
      <th scope="col">${esc(T.change)}</th><th scope="col">${esc(T.uncovered)} · ${
        esc(T.change)}</th></tr></thead>`;
    const rows = answer.comparison.map((r) => {
      const d = r.share_within_walk_change;
      return `<tr data-code="${esc(r.code)}"><td>${r.rank_before}→${r.rank_after}</td>
        <td>${esc(r.name)}</td><td>${pct(r.share_within_walk_before)}</td>
        <td data-value="${r.share_within_walk_after}">${pct(r.share_within_walk_after)}</td>
        <td class="${d > 0 ? "up" : ""}">${signed(d, (v) => pct(v))}</td>
        <td data-value="${r.uncovered_residents_change}">${
          signed(r.uncovered_residents_change, num)}</td></tr>`;
    }).join("");
    $("comparison").innerHTML = head + `<tbody>${rows}</tbody>`;
  }
  $("compare").addEventListener("click", compare);
  $("view").addEventListener("change", () => { S.view = $("view").value; restyle(); });

  // ---- scope: areas, vintage, kinds, statuses, moment, walk ----
  function vintageAreas() {
    return S.areas.filter((a) => (a.level === "district" && a.current)
      || (a.level === "subdistrict" && a.vintage === S.vintage));
  }
  function areaName(code) {
    const a = S.areas.find((x) => x.code === code && (x.level === "district"
      || x.vintage === S.vintage)) || S.areas.find((x) => x.code === code);
    return a ? a.name : code;
  }
  function renderPicked() {
    const list = $("picked");
    list.innerHTML = "";
    for (const code of S.picked) {
      const li = document.createElement("li");
      li.innerHTML = `${esc(areaName(code))} <button type="button" aria-label="${esc(T.remove)} ${
        esc(areaName(code))}">×</button>`;
      li.querySelector("button").addEventListener("click", () => {
        S.picked = S.picked.filter((c) => c !== code);
        renderPicked();
        writeURL();
      });
      list.appendChild(li);
    }
  }
  let choices = [], active = -1;
  function suggest() {
    const q = $("area-search").value.trim().toLowerCase();
    const box = $("area-results");
    if (!q) { box.hidden = true; $("area-search").setAttribute("aria-expanded", "false"); return; }
    choices = vintageAreas().filter((a) => a.name.toLowerCase().includes(q)
      || a.code.startsWith(q)).sort((a, b) => (a.level === b.level ? 0
      : a.level === "district" ? -1 : 1)).slice(0, 12);
    active = choices.length ? 0 : -1;
    drawChoices();
  }
  function drawChoices() {
    const box = $("area-results");
    box.innerHTML = choices.length ? "" : `<li>${esc(T.unknown)}</li>`;
    choices.forEach((a, i) => {
      const li = document.createElement("li");
      li.id = `area-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === active));
      li.innerHTML = `${esc(a.name)} <small>${esc(a.district && a.level === "subdistrict"
        ? a.district : "")} ${esc(a.code)}</small>`;
      li.addEventListener("mousedown", (e) => { e.preventDefault(); pick(a); });
      box.appendChild(li);
    });
    box.hidden = false;
    $("area-search").setAttribute("aria-expanded", "true");
    $("area-search").setAttribute("aria-activedescendant", active >= 0 ? `area-${active}` : "");
  }
  function pick(area) {
    if (!S.picked.includes(area.code)) S.picked.push(area.code);
    $("area-search").value = "";
    $("area-results").hidden = true;
    renderPicked();
    writeURL();
  }
  $("area-search").addEventListener("input", suggest);
  $("area-search").addEventListener("keydown", (e) => {
    if ($("area-results").hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      active = (active + (e.key === "ArrowDown" ? 1 : -1) + choices.length) % choices.length;
      drawChoices();
    } else if (e.key === "Enter" && active >= 0) {
      e.preventDefault();
      pick(choices[active]);
    } else if (e.key === "Escape") { $("area-results").hidden = true; }
  });
  $("area-search").addEventListener("blur", () => { $("area-results").hidden = true; });

  function checks(id, vocabulary, chosen, onChange) {
    const box = $(id);
    for (const [value, label] of Object.entries(vocabulary)) {
      const row = document.createElement("label");
      row.innerHTML = `<input type="checkbox" value="${esc(value)}"> ${esc(label)}`;
      const input = row.querySelector("input");
      input.checked = chosen.includes(value);
      input.addEventListener("change", () => onChange(
        [...box.querySelectorAll("input:checked")].map((i) => i.value)));
      box.appendChild(row);
    }
  }

  function localISO(day, time) { return `${day}T${time}`; }
  function isoDay(d) {  // the browser's own calendar day (toISOString would give UTC's)
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${
      String(d.getDate()).padStart(2, "0")}`;
  }
  const today = () => isoDay(new Date());
  function nextDay(weekday) {  // 0 = Sunday
    const d = new Date();
    d.setDate(d.getDate() + ((weekday - d.getDay() + 7) % 7 || 7));
    return isoDay(d);
  }
  const PRESETS = {
    "0500": () => localISO(today(), "05:00"), "1200": () => localISO(today(), "12:00"),
    "2030": () => localISO(today(), "20:30"), sunday: () => localISO(nextDay(0), "10:00"),
    holiday: () => localISO(S.calendar.holiday, "10:00"),
  };
  document.querySelectorAll("[data-preset]").forEach((button) => button.addEventListener(
    "click", () => { S.at = PRESETS[button.dataset.preset](); $("at").value = S.at; writeURL(); }));
  $("at").addEventListener("change", () => { S.at = $("at").value; writeURL(); });
  $("at-clear").addEventListener("click", () => { S.at = ""; $("at").value = ""; writeURL(); });
  $("walk").addEventListener("change", () => {
    S.walk = Math.min(60, Math.max(1, Number($("walk").value) || 15));
    $("walk").value = String(S.walk);
    writeURL();
  });
  $("vintage").addEventListener("change", () => {
    S.vintage = $("vintage").value;
    S.picked = S.picked.filter((code) => vintageAreas().some((a) => a.code === code));
    renderPicked();
    writeURL();
  });
  $("scope").addEventListener("submit", (e) => { e.preventDefault(); analyse(true); });

  // ---- the picture: choropleth, hatched gaps, ranking ----
  async function analyse(fit) {
    if (!S.picked.length) { say(T.pick_area); return; }
    say("");
    status(T.loading);
    body.dataset.state = "loading";
    try {
      const doc = await getJSON(`/coverage?${scopeQuery("geojson")}`);
      S.result = doc;
      S.after = null;
      draw(doc, fit);
      renderRanking();
      renderStations();
      legend();
      status(fmt(T.ready, { n: doc.features.length }));
      body.dataset.state = "ready";
      if (S.changes.length) compare();
    } catch (error) {
      failed(error);
      status("");
      body.dataset.state = "error";
    }
  }
  function draw(doc, fit) {
    if (layers.areas) layers.areas.remove();
    if (layers.gaps) layers.gaps.remove();
    layers.areas = L.geoJSON(doc, { renderer: canvas,
      style: () => ({ color: "#555", weight: 1, fillOpacity: 0.75 }),
      onEachFeature: (f, l) => {
        l.bindTooltip(esc(f.properties.name), { sticky: true });
        l.on("click", (e) => {
          if (adding) return;  // the map's own click adds the station
          L.DomEvent.stopPropagation(e);
          highlight(f.id, true);
        });
      },
    }).addTo(map);
    layers.gaps = L.geoJSON(doc.gaps, { pane: "over", renderer: over, interactive: false,
      className: "gap",
      style: () => ({ color: C.gap_colour, weight: 0.5, fillOpacity: 1 }) }).addTo(map);
    body.dataset.gaps = String(doc.gaps.features.length);
    restyle();
    if (fit && layers.areas.getBounds().isValid()) map.fitBounds(layers.areas.getBounds(), { animate: false });
  }
  function highlight(code, scroll) {
    S.highlighted = code;
    restyle();
    document.querySelectorAll("#ranking tr.hi").forEach((tr) => tr.classList.remove("hi"));
    const row = document.querySelector(`#ranking tr[data-code="${code}"]`);
    if (row) {
      row.classList.add("hi");
      if (scroll) row.scrollIntoView({ block: "nearest" });
    }
  }
  function zoomTo(code) {
    layers.areas.eachLayer((l) => { if (l.feature.id === code) map.fitBounds(l.getBounds(), { animate: false }); });
    highlight(code, false);
  }
  const COLUMNS = [
    ["rank", T.rank, (r) => r.rank], ["name", T.name, (r) => r.name],
    ["share_within_walk", T.share, (r) => pct(r.share_within_walk)
      + (r.share_basis === "area" ? T.by_area : "")],
    ["share_workers_within_walk", T.share_workers, (r) => pct(r.share_workers_within_walk)],
    ["residents", T.residents, (r) => num(r.residents)], ["stations", T.stations, (r) => r.stations],
    ["score", T.score, (r) => (r.score === null ? "–" : r.score.toFixed(3))],
  ];
  const PARTS = ["part_beyond_walk", "part_load", "part_uncovered", "part_workers_beyond_walk"];
  function renderRanking() {
    const records = S.result.features.map((f) => f.properties);
    const { key, asc } = S.sort;
    records.sort((a, b) => {
      const x = a[key], y = b[key];
      const order = typeof x === "string" ? x.localeCompare(y, C.lang) : (x ?? -1) - (y ?? -1);
      return asc ? order : -order;
    });
    const head = COLUMNS.map(([k, label]) => {
      const sorted = k === key ? (asc ? "ascending" : "descending") : "none";
      return `<th scope="col" aria-sort="${sorted}"><button type="button" data-sort="${k}">${
        esc(label)}${k === key ? (asc ? " ▲" : " ▼") : ""}</button></th>`;
    }).join("");
    const rows = records.map((r) => {
      const cells = COLUMNS.map(([k, , show], i) => (i === 1
        ? `<td><button type="button" class="open" aria-expanded="${S.open.has(r.code)}"
            aria-label="${esc(T.details)}">${S.open.has(r.code) ? "▾" : "▸"}</button>${
            esc(show(r))}</td>`
        : `<td data-col="${k}">${esc(show(r))}</td>`)).join("");
      const parts = S.open.has(r.code) ? `<tr class="parts"><td colspan="${COLUMNS.length}">${
        PARTS.filter((p) => r[p] !== undefined).map((p) => `${esc(T[p])}: ${
          r[p] === null ? "–" : r[p].toFixed(3)}`).join(" · ")}<br>${esc(T.method)}: ${
          esc(S.result.method.score)}${r.share_basis === "area" && S.result.method.shares
          ? `<br>${esc(S.result.method.shares)}` : ""}</td></tr>` : "";
      return `<tr data-code="${esc(r.code)}" tabindex="0" class="${r.code === S.highlighted
        ? "hi" : ""}">${cells}</tr>${parts}`;
    }).join("");
    $("ranking").innerHTML = `<thead><tr>${head}</tr></thead><tbody>${rows}</tbody>`;
    const notes = Object.entries(S.result.method).map(([k, v]) => `${k}: ${v}`);
    $("method").textContent = `${T.method} — ${notes.join("; ")}`;
  }
  $("ranking").addEventListener("click", (e) => {
    const sort = e.target.closest("button[data-sort]");
    if (sort) {
      const key = sort.dataset.sort;
      S.sort = { key, asc: S.sort.key === key ? !S.sort.asc : key === "rank" || key === "name" };
      renderRanking();
      return;
    }
    const row = e.target.closest("tr[data-code]");
    if (!row) return;
    if (e.target.closest("button.open")) {
      const code = row.dataset.code;
      if (S.open.has(code)) S.open.delete(code); else S.open.add(code);
      renderRanking();
      document.querySelector(`#ranking tr[data-code="${code}"] button.open`).focus();
      return;
    }
    zoomTo(row.dataset.code);
  });
  $("ranking").addEventListener("keydown", (e) => {
    const row = e.target.closest("tr[data-code]");
    if (row && e.key === "Enter" && e.target === row) zoomTo(row.dataset.code);
  });

  // ---- siting: the existing jobs, with state, cancel and proposals ----
  async function runSiting(e) {
    e.preventDefault();
    if (!S.picked.length) { say(T.pick_area); return; }
    say("");
    const model = document.querySelector('input[name="model"]:checked').value;
    const params = { boundary: S.picked, model, p: Number($("sites").value) || 3,
      target_share: (Number($("target").value) || 95) / 100 };
    if (S.vintage) params.vintage = S.vintage;
    try {
      const job = await (await postJSON("/jobs/siting", params)).json();
      S.job = job.id;
      layers.proposals.clearLayers();
      $("proposals").innerHTML = "";
      jobState(job);
      poll(job.id);
    } catch (error) { failed(error); }
  }
  function jobState(job) {
    $("job-state").dataset.status = job.status;
    $("job-state").textContent = job.status === "failed" ? fmt(T.job_failed, { e: job.error })
      : T[`job_${job.status}`];
    const busy = job.status === "queued" || job.status === "running";
    $("run").disabled = busy;
    $("cancel").disabled = !busy;
  }
  async function poll(id) {
    while (S.job === id) {
      let job;
      try { job = await getJSON(`/jobs/${id}`); } catch (error) { failed(error); return; }
      if (S.job !== id) return;
      jobState(job);
      if (job.status === "succeeded") { await proposals(id); return; }
      if (!["queued", "running"].includes(job.status)) return;
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
  }
  $("cancel").addEventListener("click", async () => {
    const id = S.job;
    if (!id) return;
    try {
      const job = await (await call(`/jobs/${id}`, { method: "DELETE" })).json();
      S.job = null;
      jobState(job);
    } catch (error) { failed(error); }
  });
  $("siting").addEventListener("submit", runSiting);

  async function proposals(id) {
    const result = await getJSON(`/jobs/${id}/result?coords=${CRS}`);
    S.proposals = result.features;
    const list = $("proposals");
    list.innerHTML = "";
    result.features.forEach((f) => {
      const p = f.properties, [lon, lat] = f.geometry.coordinates;
      L.marker([lat, lon], { icon: L.divIcon({ className: "", iconSize: [20, 20],
        html: `<div class="proposal-pin" style="width:20px;height:20px">${p.rank}</div>` }),
      title: `${p.rank}. ${p.boundary_name}` }).addTo(layers.proposals);
      const li = document.createElement("li");
      li.innerHTML = `<strong>${esc(p.boundary_name)}</strong> <small>${esc(p.candidate || "")}</small><br>${
        esc(fmt(T.gain, { r: num(p.gain_residents), w: num(p.gain_workers) }))}<br>
        <button type="button" class="btn" data-take>${esc(T.take)}</button>
        <button type="button" class="btn" data-save>${esc(T.save)}</button>`;
      const name = `${p.boundary_name} ${fmt(T.new_station, { n: p.rank })}`;
      li.querySelector("[data-take]").addEventListener("click", () => change({ action: "add",
        name, kind: $("new-kind").value, lon: round(lon), lat: round(lat) }));
      li.querySelector("[data-save]").addEventListener("click", () => save(name, lon, lat));
      list.appendChild(li);
    });
    body.dataset.proposals = String(result.features.length);
  }
  async function save(name, lon, lat) {
    const token = $("token").value.trim();
    if (!token) { say(T.need_token); $("token").focus(); return; }
    try {
      const station = await (await postJSON("/stations", { name, lon, lat, coords: CRS,
        kind: $("new-kind").value, status: "planned" },
      { Authorization: `Bearer ${token}` })).json();
      say(fmt(T.saved, { id: station.id }), "ok");
      await loadStations();
      renderStations();
    } catch (error) { failed(error); }
  }

  // ---- out: the CLI's files, the what-if file, the shareable link ----
  async function download(response, fallback) {
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || fallback;
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  document.querySelectorAll("[data-export]").forEach((button) => button.addEventListener(
    "click", async () => {
      const what = button.dataset.export;
      if (!S.picked.length && what !== "changes.csv") { say(T.pick_area); return; }
      say("");
      try {
        if (what === "changes.csv" || what === "plan.csv") {
          if (!S.changes.length) { say(T.no_changes); return; }
          const f = what === "plan.csv" ? "csv" : "changes.csv";
          const response = await postJSON(`/coverage/what-if?coords=${CRS}&f=${f}`,
            { scope: scope(), changes: S.changes });
          await download(response, what === "plan.csv" ? "coverage-what-if.csv" : "what-if.csv");
        } else {
          await download(await call(`/coverage?${scopeQuery(what)}`), `coverage.${what}`);
        }
      } catch (error) { failed(error); }
    }));
  $("share").addEventListener("click", async () => {
    writeURL();
    $("share-url").select();
    try { await navigator.clipboard.writeText(location.href); say(T.copied, "ok"); } catch (_) {
      say(T.copied, "ok");
    }
  });

  // ---- population, fixed at the source: the CLI's import, checked row by row ----
  async function population(dryRun) {
    const file = $("pop-file").files[0];
    const token = $("token").value.trim();
    if (!token) { say(T.need_token); $("token").focus(); return; }
    if (!file) { $("pop-file").focus(); return; }
    say("");
    const form = new FormData();
    form.append("file", file);
    const q = new URLSearchParams({ dry_run: String(dryRun) });
    if (S.vintage) q.set("vintage", S.vintage);
    try {
      const report = await (await call(`/imports/population?${q}`, { method: "POST", body: form,
        headers: { Authorization: `Bearer ${token}` } })).json();
      const box = $("pop-report");
      let html = `<p>${esc(fmt(dryRun ? T.pop_ok : T.pop_written, { n: report.written }))}</p>`;
      if (report.rejected.length) {
        html += `<p>${esc(fmt(T.pop_rejected, { n: report.rejected.length }))}</p>
          <table class="table pop-table"><thead><tr><th>${esc(T.line)}</th><th>${esc(T.column)}
          </th><th>${esc(T.reason)}</th></tr></thead><tbody>${report.rejected.map((r) =>
  `<tr><td>${esc(r.location)}</td><td>${esc(r.column)}</td><td>${esc(r.reason)}</td></tr>`)
    .join("")}</tbody></table>`;
      }
      box.innerHTML = html;
      box.dataset.rejected = String(report.rejected.length);
      if (!dryRun && report.written && S.result) analyse(false);
    } catch (error) { failed(error); }
  }
  $("pop-check").addEventListener("click", () => population(true));
  $("pop-import").addEventListener("click", () => population(false));

  // ---- start ----
  async function loadStations() {
    S.stations = (await getJSON(`/plan/stations?coords=${CRS}`)).features;
  }
  async function start() {
    readURL();
    try {
      const [areas] = await Promise.all([getJSON("/plan/areas"), loadStations()]);
      S.areas = areas.areas;
      S.calendar = areas.calendar;
      const vintages = areas.vintages.map((v) => v.vintage);
      if (!S.vintage || !vintages.includes(S.vintage)) {
        const current = areas.areas.filter((a) => a.level === "subdistrict" && a.current);
        S.vintage = current.length ? current[0].vintage : (vintages[0] || null);
      }
      $("vintage").innerHTML = areas.vintages.map((v) => `<option value="${esc(v.vintage)}">${
        esc(v.vintage)} (${v.subdistricts})</option>`).join("");
      if (S.vintage) $("vintage").value = S.vintage;
    } catch (error) { failed(error); body.dataset.state = "error"; return; }
    checks("kinds", C.labels.kinds, S.kinds, (v) => { S.kinds = v; writeURL(); renderStations(); });
    checks("statuses", C.labels.statuses, S.statuses, (v) => {
      S.statuses = v.length ? v : ["open"];
      writeURL();
      renderStations();
    });
    $("new-kind").innerHTML = Object.entries(C.labels.kinds).map(([k, label]) =>
      `<option value="${esc(k)}"${k === "rest_point" ? " selected" : ""}>${esc(label)}</option>`)
      .join("");
    $("at").value = S.at;
    $("walk").value = String(S.walk);
    renderPicked();
    renderChanges();
    renderStations();
    legend();
    writeURL();
    if (S.picked.length) await analyse(true);
    else body.dataset.state = "idle";
  }
  start();
})();
