/* Nuanxin: the union staff console (/console). No framework; Leaflet only.
 * Holds no rule of its own: it signs in once (POST /console/session sets an HttpOnly cookie; the
 * token is never kept), reads /console/*, /reports and /districts/service, and writes only through
 * the audited API with the CSRF cookie's value as X-CSRFToken. A refused write shows the API's
 * reason. Positions are shown and sent in the basemap's system (coords=); the API stores WGS-84. */
"use strict";
(function () {
  const C = JSON.parse(document.getElementById("config").textContent);
  const T = C.t, CRS = C.basemap.crs, V = C.vocab;
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const fmt = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k]);
  const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(0)}%`);
  const today = () => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  };
  const when = (iso) => (iso ? new Date(iso).toLocaleString(C.lang === "en" ? "en" : "zh-CN") : T.never);

  const S = { who: null, places: [], byId: new Map(), areas: [], current: null, original: null,
    moved: null, history: [], reports: [], upload: null };

  // ---- elements built as DOM nodes: names and notes are always text, never HTML ----
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === null || v === undefined || v === false) return;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    children.flat().forEach((c) => {
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    });
    return node;
  }
  function say(text, tone) {
    const box = $("message");
    box.hidden = !text;
    box.textContent = text || "";
    box.dataset.tone = tone || "error";
  }
  const failed = (error) => say(fmt(T.error, { e: error.message }));

  // ---- the API: the session cookie goes by itself; unsafe methods carry the CSRF header ----
  function csrf() {
    const found = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
  }
  // Behind a proxy the site may live under a prefix (C.root): API paths are put under it here.
  const R = C.root || "";
  async function call(path, options) {
    const url = path.startsWith("/") ? R + path : path;
    const opts = { credentials: "same-origin", ...(options || {}) };
    opts.headers = { Accept: "application/json", ...(opts.headers || {}) };
    if (opts.method && opts.method !== "GET") opts.headers["X-CSRFToken"] = csrf();
    let response;
    try { response = await fetch(url, opts); } catch (_) { throw new Error(T.offline); }
    if (response.status === 401 && S.who) { signedOut(T.expired); throw new Error(T.expired); }
    if (!response.ok) {
      let text = `${response.status}`;
      try { const p = await response.json(); text = p.detail || p.title || text; } catch (_) { /* */ }
      throw new Error(text);
    }
    return response.status === 204 ? null : response.json();
  }
  const send = (method, url, data) => call(url, { method, body: JSON.stringify(data),
    headers: { "Content-Type": "application/json" } });

  // ---- sign in / out ----
  function signedOut(message) {
    S.who = null;
    $("work").hidden = true;
    $("signin").hidden = false;
    $("signout").hidden = true;
    $("who").textContent = "";
    body.dataset.state = "signin";
    say(message || "", "error");
    $("token").focus();
  }
  async function signedIn(who) {
    S.who = who;
    $("signin").hidden = true;
    $("work").hidden = false;
    $("signout").hidden = false;
    const role = T[who.role] || who.role;
    $("who").textContent = `${who.name} · ${role}${who.district_code ? ` · ${who.district_code}` : ""}`;
    $("editors-tab").hidden = who.role !== "admin";
    map.invalidateSize();
    await Promise.all([loadPlaces(true), loadReports(), loadDue(), drawAreas()]);
    if (who.role === "admin") await loadEditors();
    body.dataset.state = "ready";
  }
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("token");
    const token = input.value;
    input.value = "";  // never left in the page
    try {
      const who = await send("POST", "/console/session", { token });
      say("");
      await signedIn(who);
    } catch (error) { failed(error); }
  });
  $("signout").addEventListener("click", async () => {
    try { await call("/console/session", { method: "DELETE" }); } catch (_) { /* ended anyway */ }
    signedOut("");
  });

  // ---- tabs ----
  document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => {
    document.querySelectorAll(".tab").forEach((t) => t.setAttribute("aria-selected", t === tab));
    document.querySelectorAll("[data-pane]").forEach((pane) => {
      pane.hidden = pane.dataset.pane !== tab.dataset.tab;
    });
    body.dataset.tab = tab.dataset.tab;
  }));

  // ---- the map ----
  const map = L.map("map", { zoomSnap: 0.25, attributionControl: false, keyboard: true });
  if (C.basemap.url) {
    L.tileLayer(C.basemap.url, { subdomains: C.basemap.subdomains || "abc",
      maxZoom: C.basemap.max_zoom }).addTo(map);
  }
  map.setView([39.86, 116.29], 11);
  L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);
  const dots = L.layerGroup().addTo(map);
  let pin = null, outlines = null;

  // The editor's own district and its subdistricts (every district for an admin): without a
  // basemap these outlines are the only picture of where a place sits.
  async function drawAreas() {
    const q = new URLSearchParams({ simplify_m: "40", coords: CRS });
    ["district", "subdistrict"].forEach((level) => q.append("level", level));
    if (S.who.district_code) q.set("within", S.who.district_code);
    const areas = await call(`/boundaries?${q}`);
    if (outlines) outlines.remove();
    outlines = L.geoJSON(areas, { interactive: false, style: (f) => f.properties.level === "district"
      ? { color: "#5b6270", weight: 2, fill: false }
      : { color: "#8a90a0", weight: 1, dashArray: "3 3", fill: false } }).addTo(map);
    outlines.bringToBack();
    body.dataset.areas = String(areas.features.length);
  }
  window.nuanxin = { map, state: S };

  function drawPlaces() {
    dots.clearLayers();
    S.places.forEach((p) => {
      const dot = L.circleMarker([p.lat, p.lon], { radius: 6, weight: 2, color: "#fff",
        fillColor: C.kind_colours[p.kind] || "#555", fillOpacity: p.status === "open" ? 1 : 0.35 });
      dot.bindTooltip(() => el("span", {}, p.name));  // a node: the name stays text
      dot.on("click", () => select(p.id));
      dots.addLayer(dot);
    });
  }
  map.on("click", (event) => {
    if (!S.current) return;
    placePin(event.latlng.lat, event.latlng.lng, true);
  });
  function placePin(lat, lon, moved) {
    if (pin) pin.setLatLng([lat, lon]);
    else {
      pin = L.marker([lat, lon], { draggable: true, keyboard: true, title: T.location }).addTo(map);
      pin.on("dragend", () => { const p = pin.getLatLng(); placePin(p.lat, p.lng, true); });
    }
    if (moved) S.moved = { lon: Number(lon.toFixed(7)), lat: Number(lat.toFixed(7)) };
    const shown = S.moved || { lon, lat };
    $("p-position").textContent = `${shown.lon.toFixed(6)}, ${shown.lat.toFixed(6)} (${CRS})`;
  }

  // ---- places: filters, list, selection ----
  function options(select, entries, blank) {
    select.replaceChildren(...(blank ? [el("option", { value: "" }, blank)] : []),
      ...entries.map(([value, label]) => el("option", { value }, label)));
  }
  options($("f-kind"), Object.entries(V.kinds), `${T.kind}: ${T.all}`);
  options($("f-status"), Object.entries(V.statuses), `${T.status}: ${T.all}`);
  options($("p-kind"), Object.entries(V.kinds));
  options($("p-status"), Object.entries(V.statuses));
  options($("p-host-type"), Object.entries(V.host_types));
  options($("up-kind"), Object.entries(V.kinds), T.none);
  function checks(box, vocab, name) {
    box.append(...Object.entries(vocab).map(([value, label]) => el("label", {},
      el("input", { type: "checkbox", name, value }), ` ${label}`)));
  }
  const LISTS = ["access", "amenities", "services"];  // the form's checkbox fields
  checks($("p-access"), V.access, "access");
  checks($("p-amenities"), V.amenities, "amenities");
  checks($("p-services"), V.services, "services");

  function filterQuery() {
    const q = new URLSearchParams({ coords: CRS, limit: "2000" });
    if ($("q").value.trim()) q.set("q", $("q").value.trim());
    if ($("f-kind").value) q.set("kind", $("f-kind").value);
    if ($("f-status").value) q.set("status", $("f-status").value);
    if ($("f-area").value) q.set("boundary", $("f-area").value);
    if ($("f-stale").checked) q.set("stale", "true");
    if ($("f-reports").checked) q.set("reports", "true");
    return q.toString();
  }
  async function loadPlaces(fit) {
    const answer = await call(`/console/places?${filterQuery()}`);
    S.places = answer.places;
    S.places.forEach((p) => S.byId.set(p.id, p));
    if (!S.areas.length) {
      S.areas = answer.areas;
      options($("f-area"), S.areas.map((a) => [a.code, a.name]), T.all_areas);
    }
    $("found").textContent = fmt(T.found, { n: S.places.length });
    $("places").replaceChildren(...S.places.map((p) => el("li", {}, el("button", {
      type: "button", "data-id": p.id, "aria-current": S.current && S.current.id === p.id,
      onclick: () => select(p.id),
    }, el("strong", {}, p.name), " ", el("small", {}, `${V.kinds[p.kind] || p.kind} · ${V.statuses[p.status] || p.status}`),
    p.stale ? el("span", { class: "badge warn" }, T.stale) : null,
    p.reports_waiting ? el("span", { class: "badge bad" }, fmt(T.reports_waiting, { n: p.reports_waiting })) : null,
    el("br"), el("small", {}, p.boundary_name || "")))));
    drawPlaces();
    if (fit && S.places.length) map.fitBounds(S.places.map((p) => [p.lat, p.lon]), { padding: [30, 30], maxZoom: 15, animate: false });
  }
  let filterTimer = null;
  $("filters").addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => loadPlaces(false).catch(failed), 250);
  });
  $("filters").addEventListener("submit", (event) => event.preventDefault());

  const FIELDS = [...document.querySelectorAll("#place [data-field]")];
  function fill(place) {
    FIELDS.forEach((input) => {
      const value = place[input.dataset.field];
      input.value = value === null || value === undefined ? "" : String(value).slice(0, 10 ** 4);
      if (input.type === "date" && value) input.value = String(value).slice(0, 10);
    });
    LISTS.forEach((name) => {
      document.querySelectorAll(`#place input[name="${name}"]`).forEach((box) => {
        box.checked = (place[name] || []).includes(box.value);
      });
    });
  }
  function formValues() {
    const values = {};
    FIELDS.forEach((input) => {
      const raw = input.value.trim();
      values[input.dataset.field] = raw === "" ? null : input.type === "number" ? Number(raw) : raw;
    });
    LISTS.forEach((name) => {
      values[name] = [...document.querySelectorAll(`#place input[name="${name}"]:checked`)]
        .map((box) => box.value);
    });
    return values;
  }
  async function select(id) {
    let place = S.byId.get(id);
    if (!place) {  // outside today's filters (e.g. just renamed): look it up among all
      const all = await call(`/console/places?coords=${CRS}&limit=2000`);
      all.places.forEach((p) => S.byId.set(p.id, p));
      place = S.byId.get(id);
    }
    if (!place) return;
    open(place);
    map.setView([place.lat, place.lon], Math.max(map.getZoom(), 16), { animate: false });
    await loadHistory();
    body.dataset.place = String(place.id);
  }
  function open(place) {
    delete body.dataset.place;
    S.current = place;
    S.original = place.id ? { ...formValuesOf(place) } : null;
    S.moved = null;
    $("pick").hidden = true;
    $("place").hidden = false;
    $("place-title").textContent = place.name || T.new_place;
    $("place-meta").textContent = place.id
      ? `#${place.id} · ${place.boundary_name || ""} · ${T.last_verified}: ${when(place.last_verified_at)}`
      : "";
    fill(place);
    placePin(place.lat, place.lon, !place.id);
    document.querySelectorAll("#places button").forEach((b) => b.setAttribute("aria-current", String(Number(b.dataset.id) === place.id)));
    $("verify").hidden = !place.id;
    checkHours();
  }
  function formValuesOf(place) {
    fill(place);
    return formValues();
  }
  $("new-place").addEventListener("click", () => {
    const c = map.getCenter();
    open({ id: null, name: "", kind: "rest_point", status: "open", host_type: "union",
      lat: c.lat, lon: c.lng, access: [], amenities: [], services: [] });
    $("history").replaceChildren();
    $("p-name").focus();
  });

  // ---- life cycle and "verified today" ----
  document.querySelectorAll("[data-life]").forEach((button) => button.addEventListener("click", () => {
    const status = button.dataset.life;
    $("p-status").value = status;
    if (status === "open" && !$("p-opened").value) $("p-opened").value = today();
    if (status === "closed") $("p-closed").value = today();
    if (status === "open") $("p-closed").value = "";
    $("save").focus();
  }));
  $("verify").addEventListener("click", async () => {
    try {
      await send("PATCH", `/stations/${S.current.id}`, { last_verified_at: new Date().toISOString() });
      say(T.verified_done, "ok");
      await refresh();
    } catch (error) { failed(error); }
  });

  // ---- save: only the fields that changed (a patch), the position in the basemap's system ----
  $("place").addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues();
    try {
      if (!S.current.id) {
        const data = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null));
        const created = await send("POST", "/stations", { ...data, ...S.moved, coords: CRS });
        say(T.saved, "ok");
        await loadPlaces(false);
        await select(created.id);
        return;
      }
      const patch = {};
      Object.entries(values).forEach(([k, v]) => {
        if (JSON.stringify(v) !== JSON.stringify(S.original[k])) patch[k] = v;
      });
      if (S.moved) Object.assign(patch, S.moved, { coords: CRS });
      if (!Object.keys(patch).length) { say(T.saved, "ok"); return; }
      await send("PATCH", `/stations/${S.current.id}`, patch);
      say(T.saved, "ok");
      await refresh();
    } catch (error) { failed(error); }
  });
  async function refresh() {
    const id = S.current && S.current.id;
    S.byId.clear();
    await loadPlaces(false);
    if (id) await select(id);
    await loadDue();
  }

  // ---- opening hours: checked by the API as the editor types, with the next 7 days ----
  let hoursTimer = null;
  let hoursSeq = 0;
  function checkHours() {
    clearTimeout(hoursTimer);
    hoursTimer = setTimeout(async () => {
      const text = $("p-hours").value.trim();
      const mine = ++hoursSeq;
      const box = $("hours-check");
      if (!text) { box.textContent = ""; $("week").replaceChildren(); return; }
      try {
        const answer = await send("POST", "/console/hours", { opening_hours: text, days: 7 });
        if (mine !== hoursSeq) return;
        box.className = `check ${answer.valid ? "ok" : "bad"}`;
        box.textContent = answer.valid ? T.hours_ok : answer.error;
        $("p-hours").setAttribute("aria-invalid", String(!answer.valid));
        $("week").replaceChildren(...answer.days.map((d) => el("tr", { class: d.day_type },
          el("td", {}, new Date(`${d.date}T12:00:00`).toLocaleDateString(C.lang === "en" ? "en" : "zh-CN",
            { weekday: "short", month: "numeric", day: "numeric" })),
          el("td", {}, T[`d_${d.day_type}`] + (d.holiday ? ` · ${d.holiday}` : "")),
          el("td", {}, d.open.length ? d.open.map((pair) => pair.join("–")).join(", ") : T.closed_day))));
        body.dataset.hours = answer.valid ? "valid" : "invalid";
      } catch (error) { failed(error); }
    }, 250);
  }
  $("p-hours").addEventListener("input", checkHours);

  // ---- history and an admin's revert ----
  async function loadHistory() {
    if (!S.current || !S.current.id) return;
    S.history = await call(`/console/places/${S.current.id}/history`);
    const admin = S.who.role === "admin";
    $("history").replaceChildren(...(S.history.length ? S.history.map((h) => el("li", {},
      el("small", {}, `${when(h.at)} · ${h.actor} · ${h.action}`),
      ...h.changes.map((c) => el("div", { class: "change" }, `${c.field}: `,
        el("del", {}, JSON.stringify(c.before)), " → ", el("ins", {}, JSON.stringify(c.after)))),
      admin && !h.reverted_by && h.action !== "revert"
        ? el("button", { type: "button", class: "btn ghost", "data-revert": h.id,
          onclick: () => revert(h.id) }, T.revert) : null))
      : [el("li", { class: "muted" }, T.no_history)]));
  }
  async function revert(id) {
    try {
      await send("POST", `/audit/${id}/revert`, {});
      say(T.reverted, "ok");
      await refresh();
    } catch (error) { failed(error); }
  }

  // ---- the moderation queue, with the promise, and each district's figures ----
  async function loadReports() {
    const [reports, service] = await Promise.all([
      call(`/reports?status=pending&coords=${CRS}`), call("/districts/service")]);
    S.reports = reports;
    $("reports-count").textContent = reports.length ? String(reports.length) : "";
    $("promise").textContent = fmt(T.promise, { h: service.response_hours });
    const mine = service.districts.filter((d) => S.who.role === "admin" || d.code === S.who.district_code);
    $("service").replaceChildren(...mine.map((d) => el("tr", { "data-code": d.code },
      el("td", {}, d.name), el("td", {}, pct(d.reports.share_in_time)),
      el("td", {}, pct(d.verified.share)))));
    $("reports").replaceChildren(...(reports.length ? reports.map((r) => el("li", {
      class: r.overdue ? "overdue" : "", "data-report": r.id }, el("strong", {}, r.station_name),
      " ", el("span", { class: "badge" }, T[`r_${r.kind}`] || r.kind),
      r.overdue ? el("span", { class: "badge bad" }, T.overdue) : null,
      el("br"), el("small", {}, fmt(T.age, { h: Math.round(r.age_hours) })),
      r.note ? el("p", { class: "note" }, r.note) : null,
      el("div", { class: "row" },
        el("button", { type: "button", class: "btn", onclick: () => showReport(r) }, T.location),
        el("button", { type: "button", class: "btn primary", onclick: () => moderate(r.id, "accept") }, T.accept),
        el("button", { type: "button", class: "btn ghost", onclick: () => moderate(r.id, "reject") }, T.reject))))
      : [el("li", { class: "muted" }, T.no_reports)]));
  }
  function showReport(report) {
    map.setView([report.lat, report.lon], Math.max(map.getZoom(), 15));
    select(report.station_id).catch(failed);
  }
  async function moderate(id, decision) {
    try {
      await send("POST", `/reports/${id}/${decision}`, {});
      say(decision === "accept" ? T.accepted : T.rejected_one, "ok");
      await Promise.all([loadReports(), loadPlaces(false)]);
    } catch (error) { failed(error); }
  }

  // ---- places due for a check ----
  async function loadDue() {
    const due = await call("/stations/due");
    $("due").replaceChildren(...(due.length ? due.map((p) => el("li", {}, el("button", {
      type: "button", onclick: () => select(p.id) }, el("strong", {}, p.name), el("br"),
      el("small", {}, `${T.last_verified}: ${when(p.last_verified_at)}`))))
      : [el("li", { class: "muted" }, T.no_due)]));
  }

  // ---- editors (admins) ----
  async function loadEditors() {
    const editors = await call("/console/editors");
    $("editors").replaceChildren(...editors.map((e) => el("tr", { class: e.revoked_at ? "muted" : "" },
      el("td", {}, e.name + (e.id === S.who.token_id ? T.you : "")), el("td", {}, T[e.role] || e.role),
      el("td", {}, e.district_code || "–"),
      el("td", {}, e.revoked_at ? `${T.revoked} ${when(e.revoked_at)}` : when(e.last_used_at)),
      el("td", {}, !e.revoked_at && e.id !== S.who.token_id
        ? el("button", { type: "button", class: "btn ghost", "data-revoke": e.id,
          onclick: () => revoke(e.id) }, T.revoke) : ""))));
  }
  async function revoke(id) {
    try { await call(`/console/editors/${id}`, { method: "DELETE" }); await loadEditors(); }
    catch (error) { failed(error); }
  }
  $("ed-role").addEventListener("change", () => { $("ed-district").disabled = $("ed-role").value === "admin"; });
  $("add-editor").addEventListener("submit", async (event) => {
    event.preventDefault();
    const role = $("ed-role").value;
    try {
      const made = await send("POST", "/console/editors", { name: $("ed-name").value.trim(), role,
        district_code: role === "admin" ? null : $("ed-district").value.trim() || null });
      $("new-token").hidden = false;
      $("new-token").textContent = `${T.new_token} ${made.token}`;
      $("add-editor").reset();
      await loadEditors();
    } catch (error) { failed(error); }
  });

  // ---- upload: a dry run, the column mapping fixed in the page, then the same import ----
  const FIELD_NAMES = C.fields;
  function mappingRow(header) {
    const fields = FIELD_NAMES[$("up-what").value];
    const pick = el("select", { "aria-label": header || T.column });
    pick.append(el("option", { value: "" }, "="), el("option", { value: "-" }, T.ignore),
      ...fields.map((f) => el("option", { value: f }, f)));
    const name = el("input", { value: header || "", "aria-label": T.column, maxlength: "100" });
    return el("tr", {}, el("td", {}, name), el("td", {}, "→"), el("td", {}, pick));
  }
  async function headersOf(file) {
    if (/\.csv$/i.test(file.name)) {
      const head = (await file.slice(0, 65536).text()).replace(/^\ufeff/, "").split(/\r?\n/)[0];
      return head.split(",").map((h) => h.trim().replace(/^"|"$/g, "")).filter(Boolean);
    }
    if (/\.(geo)?json$/i.test(file.name) && file.size < 5e6) {
      try {
        const doc = JSON.parse(await file.text());
        return Object.keys(((doc.features || [])[0] || {}).properties || {});
      } catch (_) { return []; }
    }
    return [];  // Excel and binary GIS files: the editor adds the columns to map by hand
  }
  function resetUpload() { $("commit").disabled = true; }
  $("up-file").addEventListener("change", async () => {
    resetUpload();
    $("upload-result").replaceChildren();
    const file = $("up-file").files[0];
    const headers = file ? await headersOf(file) : [];
    $("mapping").replaceChildren(...headers.map(mappingRow));
  });
  $("add-column").addEventListener("click", () => $("mapping").append(mappingRow("")));
  $("upload").addEventListener("input", (event) => { if (event.target.id !== "up-file") resetUpload(); });
  function uploadQuery(dryRun) {
    const q = new URLSearchParams({ crs: $("up-crs").value, dry_run: String(dryRun) });
    if ($("up-source").value.trim()) q.set("source", $("up-source").value.trim());
    if ($("up-kind").value && $("up-what").value === "stations") q.set("default_kind", $("up-kind").value);
    $("mapping").querySelectorAll("tr").forEach((row) => {
      const header = row.querySelector("input").value.trim();
      const field = row.querySelector("select").value;
      if (header && field) q.append("map", `${header}=${field === "-" ? "" : field}`);
    });
    return q.toString();
  }
  async function upload(dryRun) {
    const file = $("up-file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    body.dataset.upload = "busy";
    try {
      const report = await call(`/imports/${$("up-what").value}?${uploadQuery(dryRun)}`,
        { method: "POST", body: form });
      const counts = { i: report.inserted, u: report.updated, c: report.unchanged };
      const parts = [el("p", { class: "check ok" }, fmt(dryRun ? T.would : T.done, counts))];
      if (report.rejected.length) {
        parts.push(el("p", { class: "check bad" }, fmt(T.rejected, { n: report.rejected.length })),
          el("table", { class: "rejected" }, el("thead", {}, el("tr", {}, el("th", {}, T.line),
            el("th", {}, T.column), el("th", {}, T.reason))),
          el("tbody", {}, report.rejected.map((r) => el("tr", {}, el("td", {}, r.location),
            el("td", {}, r.column || ""), el("td", {}, r.reason))))));
      }
      $("upload-result").replaceChildren(...parts);
      $("commit").disabled = !dryRun || report.inserted + report.updated === 0;
      body.dataset.upload = dryRun ? "checked" : "done";
      if (!dryRun) { S.byId.clear(); await loadPlaces(true); await loadDue(); }
    } catch (error) { body.dataset.upload = "failed"; failed(error); }
  }
  $("dry-run").addEventListener("click", () => upload(true));
  $("commit").addEventListener("click", () => upload(false));

  // ---- start: a session still open? ----
  call("/console/session").then(signedIn, () => signedOut(""));
})();
