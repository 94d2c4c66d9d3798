/* Nuanxin: the national planner (/plan/national). No framework; Leaflet only.
 * Computes no figure: a stored coverage run (/coverage/national) drawn by province or county,
 * and a stored siting run's sites (/siting/national). Words and palette come from #config;
 * the view (run, level, province, siting) lives in the URL. */
"use strict";
(function () {
  const C = JSON.parse(document.getElementById("config").textContent);
  const T = C.t, CRS = C.basemap.crs, R = C.root || "";
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const fmt = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k]);
  const locale = C.lang === "en" ? "en" : "zh-CN";
  const num = (v) => (v === null || v === undefined || Number.isNaN(v) ? "–"
    : (Math.round(v) || 0).toLocaleString(locale));
  const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
  const km = (m) => (m === null || m === undefined ? "–" : `${(m / 1000).toFixed(2)} km`);

  const S = { runs: null, run: null, level: "province", province: "", siting: "",
    provinces: [], provinceDocs: new Map(), doc: null, sites: null, sort: { key: "rank", asc: true }, highlighted: null };

  function say(text, tone) {
    const box = $("message");
    box.hidden = !text;
    box.textContent = text || "";
    box.dataset.tone = tone || "error";
  }
  const status = (text) => { $("status").textContent = text || ""; };
  async function getJSON(url) {
    let response;
    try {
      response = await fetch(R + url, { headers: { Accept: "application/json" } });
    } catch (_) { throw new Error(T.offline); }
    if (!response.ok) {
      let detail = `${response.status}`;
      try { const p = await response.json(); detail = p.detail || p.title || detail; } catch (_) {}
      throw new Error(detail);
    }
    return response.json();
  }

  // ---- the URL holds the view ----
  function readURL() {
    const q = new URLSearchParams(location.search);
    S.run = q.get("run") ? Number(q.get("run")) : null;
    S.level = q.get("level") === "county" ? "county" : "province";
    S.province = /^\d{2}$/.test(q.get("province") || "") ? q.get("province") : "";
    S.siting = q.has("siting") ? q.get("siting") : null;  // null: the latest, "": none
  }
  function writeURL() {
    const q = new URLSearchParams();
    if (C.lang !== "zh") q.set("lang", C.lang);
    if (C.basemap.id !== "none") q.set("basemap", C.basemap.id);
    if (S.run) q.set("run", String(S.run));
    if (S.level !== "province") q.set("level", S.level);
    if (S.province) q.set("province", S.province);
    q.set("siting", S.siting || "");
    history.replaceState(null, "", `${location.pathname}?${q.toString()}`);
    $("share-url").value = location.href;
    const other = new URLSearchParams([...q.entries()].filter(([k]) => k !== "lang"));
    if (C.lang === "zh") other.set("lang", "en");
    $("lang").href = `${R}/plan/national?${other.toString()}`;
    const figures = figuresQuery("csv");
    $("export-csv").href = `${R}/coverage/national?${figures}`;
    $("export-csv").download = `national-${S.level}${S.province ? `-${S.province}` : ""}.csv`;
    // Downloads are WGS-84 whatever the basemap: GeoJSON and a CSV's lon/lat say nothing else.
    $("export-geojson").href = `${R}/coverage/national?${figuresQuery("geojson", null, false)}`;
    $("export-geojson").download = $("export-csv").download.replace(/csv$/, "geojson");
    const sites = $("export-sites");
    sites.hidden = !S.siting;
    if (S.siting) {
      sites.href = `${R}/siting/national?${sitesQuery("csv", false)}`;
      sites.download = `national-sites-${S.siting}${S.province ? `-${S.province}` : ""}.csv`;
    }
  }
  function figuresQuery(f, level, shifted = true) {
    const q = new URLSearchParams({ run: String(S.run), level: level || S.level, f });
    if (S.province && (level || S.level) === "county") q.set("province", S.province);
    if (f === "geojson" && shifted) q.set("coords", CRS);  // drawn on the basemap's system
    return q.toString();
  }
  function sitesQuery(f, shifted = true) {
    const q = new URLSearchParams({ siting: S.siting, f });
    if (shifted) q.set("coords", CRS);
    if (S.province) q.set("province", S.province);
    return q.toString();
  }

  // ---- the map ----
  const map = L.map("map", { zoomSnap: 0.25, attributionControl: false, keyboard: true });
  if (C.basemap.url) {
    L.tileLayer(C.basemap.url, { subdomains: C.basemap.subdomains || "abc",
      maxZoom: C.basemap.max_zoom }).addTo(map);
    L.control.attribution({ prefix: false }).addAttribution(esc(C.basemap.attribution)).addTo(map);
  }
  map.setView([35.5, 104], 4);
  L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);
  const canvas = L.canvas({ padding: 0.3, tolerance: 3 });
  const layers = { areas: null, hi: null, sites: L.layerGroup().addTo(map) };
  window.nuanxin = { map, state: S, layers };
  map.on("movestart", () => { body.dataset.moving = "1"; });
  map.on("moveend", () => { delete body.dataset.moving; });

  function shareColour(share) {
    if (share === null || share === undefined) return C.no_residents;
    return (C.share_classes.find(([upper]) => share <= upper + 1e-12) || C.share_classes[4])[1];
  }
  function legend() {
    const walk = S.doc ? S.doc.nuanxin.params.walk_min : 15;
    let html = `<strong>${esc(fmt(T.legend, { walk }))}</strong>`;
    let lower = 0;
    for (const [upper, colour] of C.share_classes) {
      html += `<div><i style="background:${colour}"></i>${Math.round(lower * 100)}–${
        Math.round(upper * 100)}%</div>`;
      lower = upper;
    }
    html += `<div><i style="background:${C.no_residents}"></i>${esc(T.legend_none)}</div>`;
    if (S.sites) {
      html += `<div><i class="dot" style="background:${C.site_colour}"></i>${
        esc(T.legend_site)}</div>`;
    }
    $("legend").innerHTML = html;
  }
  function draw(fit) {
    if (layers.areas) layers.areas.remove();
    layers.areas = L.geoJSON(S.doc, { renderer: canvas,
      style: (f) => ({ color: S.level === "province" ? "#555" : "#9a9a9a",
        weight: S.level === "province" ? 1 : 0.3,
        fillColor: shareColour(f.properties.share_within_walk), fillOpacity: 0.8 }),
      onEachFeature: (f, l) => {
        l.bindTooltip(`${esc(f.properties.name)} · ${pct(f.properties.share_within_walk)}`,
          { sticky: true });
        l.on("click", () => {
          if (S.level === "province") { drill(f.properties.code); return; }
          highlight(f.properties.code, true);
        });
      },
    }).addTo(map);
    layers.areas.bringToBack();
    if (fit && layers.areas.getBounds().isValid()) {
      map.fitBounds(layers.areas.getBounds(), { animate: false });
    }
    highlight(S.highlighted, false);
  }
  function highlight(code, scroll) {
    S.highlighted = code;
    if (layers.hi) layers.hi.remove();
    layers.hi = null;
    document.querySelectorAll("#ranking tr.hi").forEach((tr) => tr.classList.remove("hi"));
    if (!code || !layers.areas) return;
    layers.areas.eachLayer((l) => {
      if (l.feature.properties.code !== code) return;
      layers.hi = L.geoJSON(l.feature, { interactive: false,
        style: () => ({ color: "#0072b2", weight: 4, fill: false }) }).addTo(map);
    });
    const row = document.querySelector(`#ranking tr[data-code="${CSS.escape(code)}"]`);
    if (row) {
      row.classList.add("hi");
      if (scroll) row.scrollIntoView({ block: "nearest" });
    }
  }
  function zoomTo(code) {
    layers.areas.eachLayer((l) => {
      if (l.feature.properties.code === code) map.fitBounds(l.getBounds(), { animate: false });
    });
    highlight(code, false);
  }

  // ---- the ranking ----
  const provinceName = (code) => (S.provinces.find((p) => p.code === code) || {}).name || code;
  const COLUMNS = [
    ["rank", () => T.rank, (r) => (r.rank ?? "–")],
    ["name", () => T.name, (r) => r.name],
    ["province", () => T.in_province, (r) => provinceName(r.province)],
    ["share_within_walk", () => T.share, (r) => pct(r.share_within_walk)
      + (r.share_basis === "area" ? T.by_area : "")],
    ["residents", () => T.residents, (r) => num(r.residents)],
    ["uncovered_residents", () => T.uncovered, (r) => num(r.uncovered_residents)],
    ["stations", () => T.stations, (r) => num(r.stations)],
    ["mean_nearest_m", () => T.mean_nearest, (r) => km(r.mean_nearest_m)],
    ["score", () => T.score, (r) => (r.score === null || r.score === undefined ? "–"
      : r.score.toFixed(3))],
  ];
  function shownColumns() {
    return COLUMNS.filter(([k]) => S.level === "county" || k !== "province");
  }
  function renderRanking() {
    const records = S.doc.features.map((f) => f.properties);
    const { key, asc } = S.sort;
    records.sort((a, b) => {
      const x = a[key], y = b[key];
      const xNone = x === null || x === undefined, yNone = y === null || y === undefined;
      if (xNone && yNone) return 0;
      if (xNone) return 1;  // unranked and unknown last, either way
      if (yNone) return -1;
      const order = typeof x === "string" ? x.localeCompare(y, locale) : x - y;
      return asc ? order : -order;
    });
    const columns = shownColumns();
    const head = columns.map(([k, label]) => {
      const sorted = k === key ? (asc ? "ascending" : "descending") : "none";
      return `<th scope="col" aria-sort="${sorted}"><button type="button" data-sort="${k}">${
        esc(label())}${k === key ? (asc ? " ▲" : " ▼") : ""}</button></th>`;
    }).join("");
    const rows = records.map((r) => `<tr data-code="${esc(r.code)}" tabindex="0">${
      columns.map(([k, , show]) => `<td data-col="${k}">${esc(show(r))}</td>`).join("")}</tr>`)
      .join("");
    $("ranking").innerHTML = `<thead><tr>${head}</tr></thead><tbody>${rows}</tbody>`;
    const unranked = records.filter((r) => r.share_basis === "area").length;
    const notes = [];
    if (S.level === "county" && S.province) {
      const run = S.runs.coverage.find((r) => r.id === S.run);
      notes.push(fmt(T.rank_note, { n: num(run ? run.counties : records.length) }));
    }
    if (unranked) notes.push(fmt(T.unranked, { n: unranked }));
    $("unranked").textContent = notes.join(" ");
  }
  $("ranking").addEventListener("click", (e) => {
    const sort = e.target.closest("button[data-sort]");
    if (sort) {
      const key = sort.dataset.sort;
      S.sort = { key, asc: S.sort.key === key ? !S.sort.asc : ["rank", "name"].includes(key) };
      renderRanking();
      highlight(S.highlighted, false);
      return;
    }
    const row = e.target.closest("tr[data-code]");
    if (row) open(row.dataset.code);
  });
  $("ranking").addEventListener("keydown", (e) => {
    const row = e.target.closest("tr[data-code]");
    if (row && e.key === "Enter" && e.target === row) open(row.dataset.code);
  });
  // A province's row opens its counties; a county's row shows it on the map.
  function open(code) {
    if (S.level === "province") drill(code); else zoomTo(code);
  }
  function drill(code) {
    S.level = "county";
    S.province = code;
    S.highlighted = null;
    S.sort = { key: "rank", asc: true };
    syncControls();
    load(true);
  }

  // ---- the summary of the run and of the province shown ----
  function summary() {
    const meta = S.doc.nuanxin;
    const rows = S.provinces.filter((p) => !S.province || p.code === S.province);
    const sum = (k) => rows.reduce((t, p) => t + (p[k] || 0), 0);
    const residents = sum("residents"), within = sum("residents_within_walk");
    const scope = S.province ? provinceName(S.province) : meta.scope;
    $("summary").innerHTML = `<strong>${esc(scope)}</strong><dl>
      <dt>${esc(T.total_residents)}</dt><dd data-value="${residents}">${num(residents)}</dd>
      <dt>${esc(T.total_within)}</dt><dd data-value="${residents ? within / residents : ""}">${
        residents ? pct(within / residents) : "–"}</dd>
      <dt>${esc(T.total_stations)}</dt><dd>${num(sum("stations"))}</dd>
      <dt>${esc(T.resolution)}</dt><dd>${esc(meta.params.h3_resolution)}</dd>
      <dt>${esc(T.created)}</dt><dd>${esc(new Date(meta.created_at).toLocaleString(locale))}</dd>
      </dl>`;
    const method = { ...meta.method };
    if (S.sites) {
      for (const [k, v] of Object.entries(S.sites.nuanxin.method)) method[`siting · ${k}`] = v;
    }
    $("method").innerHTML = Object.entries(method).map(([k, v]) =>
      `<dt>${esc(k)}</dt><dd>${esc(typeof v === "number" ? v.toLocaleString(locale) : v)}</dd>`)
      .join("");
  }

  // ---- sites of the siting run ----
  function renderSites() {
    layers.sites.clearLayers();
    $("sites").innerHTML = "";
    $("siting-summary").textContent = "";
    body.dataset.sites = S.sites ? String(S.sites.features.length) : "0";
    if (!S.sites) return;
    const m = S.sites.nuanxin.method;
    const run = S.runs.siting.find((r) => String(r.id) === String(S.siting));
    const total = run ? run.sites : S.sites.features.length;  // sites placed, at most p
    const n = S.sites.features.length;
    $("siting-summary").textContent = fmt(T.siting_summary, { n: num(total),
      r: num(m.added), b: num(m.bound), g: `${(m.gap * 100).toPrecision(2)}%` })
      + (S.province ? ` ${fmt(T.sites_here, { n: num(n), t: num(total) })}` : "");
    for (const f of S.sites.features) {
      const [lon, lat] = f.geometry.coordinates, p = f.properties;
      L.circleMarker([lat, lon], { renderer: canvas, radius: 4, color: "#fff", weight: 1,
        fillColor: C.site_colour, fillOpacity: 1 })
        .bindTooltip(`${p.rank}. ${esc(p.county)} · +${num(p.gain)}`).addTo(layers.sites);
    }
    const head = `<thead><tr><th scope="col">${esc(T.rank)}</th><th scope="col">${
      esc(T.site_county)}</th><th scope="col">${esc(T.in_province)}</th><th scope="col">${
      esc(T.gain)}</th><th scope="col">${esc(T.gain_alone)}</th></tr></thead>`;
    const rows = S.sites.features.slice(0, 200).map((f) => {
      const p = f.properties;
      return `<tr data-rank="${p.rank}" tabindex="0"><td>${p.rank}</td><td>${esc(p.county)} <small>${esc(p.code)}</small></td>
        <td>${esc(provinceName(p.province))}</td><td data-value="${p.gain}">${num(p.gain)}</td>
        <td>${num(p.gain_alone)}</td></tr>`;
    }).join("");
    $("sites").innerHTML = head + `<tbody>${rows}</tbody>`;
  }
  $("sites").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-rank]");
    if (!row) return;
    const site = S.sites.features.find((f) => String(f.properties.rank) === row.dataset.rank);
    const [lon, lat] = site.geometry.coordinates;
    map.setView([lat, lon], Math.max(map.getZoom(), 10), { animate: false });
  });

  // ---- loading a view ----
  let loading = 0;
  async function load(fit) {
    const ticket = ++loading;
    say("");
    status(T.loading);
    body.dataset.state = "loading";
    writeURL();
    try {
      // A run's provinces (names, totals, the province map) are read once, not per view.
      const provincesOf = S.provinceDocs.get(S.run)
        || getJSON(`/coverage/national?${figuresQuery("geojson", "province")}`);
      const wanted = [provincesOf];
      if (S.level === "county") wanted.push(getJSON(`/coverage/national?${figuresQuery("geojson")}`));
      if (S.siting) wanted.push(getJSON(`/siting/national?${sitesQuery("geojson")}`));
      const answers = await Promise.all(wanted);
      if (ticket !== loading) return;  // a later choice superseded this one
      const provinces = answers[0];
      S.provinceDocs.set(S.run, provinces);
      S.provinces = provinces.features.map((f) => f.properties);
      fillProvinces();
      S.doc = S.level === "county" ? answers[1] : provinces;
      S.sites = S.siting ? answers[answers.length - 1] : null;
      draw(fit);
      renderRanking();
      renderSites();
      summary();
      legend();
      status(fmt(T.ready, { n: num(S.doc.features.length),
        level: S.level === "county" ? T.lvl_county : T.lvl_province }));
      body.dataset.state = "ready";
    } catch (error) {
      if (ticket !== loading) return;
      say(fmt(T.error, { e: error.message }));
      status("");
      body.dataset.state = "error";
    }
  }

  // ---- controls ----
  function fillProvinces() {
    const options = [`<option value="">${esc(T.all_provinces)}</option>`].concat(
      [...S.provinces].sort((a, b) => a.code.localeCompare(b.code)).map((p) =>
        `<option value="${esc(p.code)}">${esc(p.name || p.code)} (${esc(p.code)})</option>`));
    $("province").innerHTML = options.join("");
    $("province").value = S.province;
  }
  function syncControls() {
    document.querySelectorAll("[data-level]").forEach((b) => b.setAttribute("aria-pressed",
      String(b.dataset.level === S.level)));
    $("province").value = S.province;
    $("run").value = String(S.run);
    $("siting").value = S.siting || "";
  }
  document.querySelectorAll("[data-level]").forEach((button) => button.addEventListener(
    "click", () => {
      if (S.level === button.dataset.level) return;
      S.level = button.dataset.level;
      if (S.level === "province") S.province = "";  // provinces are all shown: no filter
      S.highlighted = null;
      S.sort = { key: "rank", asc: true };
      syncControls();
      load(true);
    }));
  $("province").addEventListener("change", () => {
    S.province = $("province").value;
    if (S.province) S.level = "county";
    S.highlighted = null;
    syncControls();
    load(true);
  });
  $("run").addEventListener("change", () => {
    S.run = Number($("run").value);
    S.province = "";
    S.level = "province";
    syncControls();
    load(true);
  });
  $("siting").addEventListener("change", () => { S.siting = $("siting").value; load(false); });
  $("scope").addEventListener("submit", (e) => e.preventDefault());
  $("share").addEventListener("click", async () => {
    writeURL();
    $("share-url").select();
    try { await navigator.clipboard.writeText(location.href); } catch (_) { /* copied by hand */ }
    say(T.copied, "ok");
  });

  async function start() {
    readURL();
    try { S.runs = await getJSON("/coverage/national/runs"); } catch (error) {
      say(fmt(T.error, { e: error.message }));
      body.dataset.state = "error";
      return;
    }
    const runLabel = (r, what) => `${r.id} · ${r.scope} · ${what} · ${
      new Date(r.created_at).toLocaleDateString(locale)}`;
    $("run").innerHTML = S.runs.coverage.map((r) => `<option value="${r.id}">${esc(runLabel(r,
      `${num(r.counties)} ${T.lvl_county}`))}</option>`).join("");
    $("siting").innerHTML = [`<option value="">${esc(T.no_siting)}</option>`].concat(
      S.runs.siting.map((r) => `<option value="${r.id}">${esc(runLabel(r,
        `${num(r.sites)} ${T.sites}`))}</option>`)).join("");
    if (!S.runs.coverage.length) {
      say(T.no_runs, "ok");
      legend();
      body.dataset.state = "empty";
      return;
    }
    if (!S.run || !S.runs.coverage.some((r) => r.id === S.run)) S.run = S.runs.coverage[0].id;
    if (S.siting === null) S.siting = S.runs.siting.length ? String(S.runs.siting[0].id) : "";
    if (S.siting && !S.runs.siting.some((r) => String(r.id) === S.siting)) S.siting = "";
    syncControls();
    await load(true);
  }
  start();
})();
