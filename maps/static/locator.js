/* Nuanxin: the worker's locator page and the embeddable widget (one file, two modes).
 * No framework; Leaflet only. Talks to this site's API only: /locate, /stations, /boundaries,
 * /locator/search and /locator/shift. The page's options come from the server in #config. */
"use strict";
(function () {
  const C = JSON.parse(document.getElementById("config").textContent);
  const T = C.t, O = C.options, CRS = C.basemap.crs;
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const fmt = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k]);

  // Behind a proxy the site may live under a prefix (C.root): API paths are put under it here.
  const R = C.root || "";
  async function getJSON(path, signal) {
    const url = path.startsWith("/") ? R + path : path;
    const response = await fetch(url, { signal, headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${url.split("?")[0]}`);
    return response.json();
  }

  // ---- the map: boundaries are the base; tiles only when the server enabled a basemap ----
  function makeMap() {
    const map = L.map("map", { preferCanvas: true, zoomSnap: 0.25, attributionControl: false });
    if (C.basemap.url) {
      L.tileLayer(C.basemap.url, {
        subdomains: C.basemap.subdomains || "abc", maxZoom: C.basemap.max_zoom,
      }).addTo(map);
      L.control.attribution({ prefix: false }).addAttribution(esc(C.basemap.attribution))
        .addTo(map);
    }
    map.setView([39.9, 116.4], 10);
    L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);
    const labelsAt = () => map.getContainer().classList.toggle("no-labels", map.getZoom() < 12);
    map.on("zoomend", labelsAt);
    labelsAt();
    window.nuanxin = { map };
    return map;
  }

  async function drawBoundaries(map, fit) {
    const url = `/boundaries?level=district&level=subdistrict&simplify_m=60&coords=${CRS}`;
    const areas = await getJSON(url);
    const layer = L.geoJSON(areas, {
      interactive: false,
      style: (f) => f.properties.level === "district"
        ? { color: "#5b6270", weight: 2, fillColor: "#fbfbf8", fillOpacity: 0.9 }
        : { color: "#8a90a0", weight: 1, dashArray: "3 3", fill: false },
      onEachFeature: (f, l) => {
        if (f.properties.level === "subdistrict") {
          l.bindTooltip(esc(f.properties.name),
            { permanent: true, direction: "center", className: "area-label" });
        }
      },
    }).addTo(map);
    layer.bringToBack();
    if (fit() && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { animate: false });
    body.dataset.areas = String(areas.features.length);
    return layer;
  }

  // A GPS fix is WGS-84; on GCJ-02 tiles the server shifts it (geo.crs is the only converter).
  function position(onFix, onFail) {
    if (!navigator.geolocation) return onFail();
    navigator.geolocation.getCurrentPosition(async (pos) => {
      let lon = pos.coords.longitude, lat = pos.coords.latitude;
      if (CRS !== "wgs84") {
        const p = await getJSON(`/locator/shift?lon=${lon}&lat=${lat}&coords=${CRS}`);
        lon = p.lon; lat = p.lat;
      }
      onFix(lon, lat, pos.coords.accuracy);
    }, onFail, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }

  function distance(m) {
    if (m < 1000) return `${Math.max(10, Math.round(m / 10) * 10)} ${C.lang === "zh" ? "米" : "m"}`;
    return `${(m / 1000).toFixed(1)} ${C.lang === "zh" ? "公里" : "km"}`;
  }

  // Times come in Beijing time (+08:00) and are shown as such, whatever the phone's zone.
  function clock(iso, sameDayAs) {
    const day = iso.slice(0, 10), time = iso.slice(11, 16);
    return sameDayAs && sameDayAs.slice(0, 10) !== day ? `${day.slice(5)} ${time}` : time;
  }

  function hours(p) {
    const s = O.open === "now" ? p.open_now : p.open_on_arrival;
    if (s.is_open === null) return `<span class="hours unknown">${esc(T.hours_unknown)}</span>`;
    if (!s.is_open) return `<span class="hours closed">${esc(T.closed)}</span>`;
    const text = s.closes_at ? fmt(T.open_until, { t: clock(s.closes_at, p.arrival) })
      : T.open_long;
    return `<span class="hours open">${esc(text)}</span>`
      + (p.closes_soon ? ` <strong class="soon">${esc(T.closes_soon)}</strong>` : "");
  }

  // How to get in, next to the hours: a code lock or a sign-up turns passing workers away.
  function access(p, tag) {
    if (!(p.access || []).length) return "";
    const ways = p.access.map((a) => esc(C.labels[a] || a)).join(" / ");
    const who = p.access_condition ? ` · <span class="condition">${esc(p.access_condition)}</span>`
      : "";
    return `<${tag} class="access ${p.walk_in ? "walk-in" : "restricted"}">${esc(T.access)}: `
      + `${ways}${who}</${tag}>`;
  }

  function navButtons(p) {
    return ["amap", "baidu", "osm", "geo"].filter((app) => p.navigation[app]).map((app) =>
      `<a class="btn nav" data-app="${app}" href="${esc(p.navigation[app])}" target="_blank"`
      + ` rel="noopener noreferrer">${esc(T["nav_" + app])}</a>`).join("");
  }

  // Chinese notices are built from the API's code and figures; English shows its message.
  function noticeText(n, query) {
    if (C.lang !== "zh") return n.message;
    if (n.code === "nothing_open") {
      const when = query.open === "now" ? T.when_now : T.when_arrival;
      return fmt(T.nothing_open, { when })
        + (n.next_open ? fmt(T.first_open, { t: clock(n.next_open, query.at) }) : "");
    }
    return fmt(T[n.code], { km: query.max_km })
      + (n.nearest_m != null ? fmt(T.nearest, { d: distance(n.nearest_m) }) : "");
  }

  // ---- the locator page ----
  function locator() {
    const map = makeMap();
    const results = L.layerGroup().addTo(map);
    let here = null, hereLayer = null, inFlight = null, searchTimer = 0;
    const need = new Set(O.need);
    let profile = O.profile, walkIn = O.walk_in;

    function status(text, tone) {
      $("status").textContent = text;
      $("status").dataset.tone = tone || "";
    }

    function params(lang) {
      const p = new URLSearchParams(C.query);
      p.delete("need"); p.delete("profile"); p.delete("lang"); p.delete("walk_in");
      if (lang !== "zh") p.set("lang", lang);
      if (need.size) p.set("need", [...need].join(","));
      if (walkIn) p.set("walk_in", "1");
      if (profile) p.set("profile", profile);
      return p;
    }

    function keepUrl() {
      const own = params(C.lang).toString();
      history.replaceState(null, "", own ? `?${own}` : location.pathname);
      const other = params(C.lang === "zh" ? "en" : "zh").toString();
      $("lang").href = other ? `?${other}` : `${R}/`;
    }

    function setHere(lon, lat, accuracy) {
      here = { lon, lat };
      if (hereLayer) hereLayer.remove();
      hereLayer = L.featureGroup([
        ...(accuracy ? [L.circle([lat, lon], { radius: accuracy, weight: 1, color: "#1c5fb8",
          fillOpacity: 0.08, interactive: false })] : []),
        L.circleMarker([lat, lon], { radius: 8, weight: 3, color: "#fff", fillColor: "#1c5fb8",
          fillOpacity: 1 }).bindTooltip(esc(T.here)),
      ]).addTo(map);
      body.dataset.here = `${lon.toFixed(5)},${lat.toFixed(5)}`;
      find();
    }

    async function find() {
      if (!here) return;
      if (inFlight) inFlight.abort();
      inFlight = new AbortController();
      const q = new URLSearchParams({ lon: here.lon, lat: here.lat, coords: CRS, k: O.k,
        open: O.open, max_km: O.max_km });
      need.forEach((n) => q.append("need", n));
      if (walkIn) q.set("walk_in", "true");
      if (profile) q.set("profile", profile);
      if (O.at) q.set("at", O.at);
      status(T.loading);
      body.dataset.state = "loading";
      try {
        show(await getJSON(`/locate?${q}`, inFlight.signal));
      } catch (err) {
        if (err.name === "AbortError") return;
        status(T.error, "error");
        body.dataset.state = "error";
      }
    }

    function show(data) {
      const places = data.results;
      $("results").innerHTML = places.map((p, i) => `<li class="place" id="place-${i + 1}">
        <div class="head"><span class="num" aria-hidden="true">${i + 1}</span>
          <h2>${esc(p.name)}</h2></div>
        <p class="facts"><span class="dist">${esc(distance(p.distance_m))}</span> ·
          <span class="walk">${esc(fmt(T.walk, { n: Math.max(1, Math.round(p.walk_min)) }))}</span>
          · ${hours(p)}</p>
        ${access(p, "p")}
        <p class="kind">${esc(C.labels[p.kind] || p.kind_label)}${p.host_name
          ? ` · ${esc(fmt(T.host, { h: p.host_name }))}` : ""}</p>
        <ul class="amenities">${p.amenities.map((a) => `<li class="${need.has(a)
          || p.profile_matches.includes(a) ? "match" : ""}">${esc(C.labels[a] || a)}</li>`)
          .join("")}</ul>
        ${p.last_verified_at ? `<p class="verified">${esc(fmt(T.verified,
          { d: p.last_verified_at.slice(0, 10) }))}</p>` : ""}
        <div class="navs">${navButtons(p)}</div></li>`).join("");
      results.clearLayers();
      places.forEach((p, i) => {
        L.marker([p.lat, p.lon], { title: p.name, keyboard: false, icon: L.divIcon(
          { className: "pin", html: String(i + 1), iconSize: [30, 30] }) })
          .on("click", () => $(`place-${i + 1}`).scrollIntoView({ behavior: "smooth" }))
          .addTo(results);
      });
      const notice = $("notice");
      notice.hidden = places.length > 0 || !data.notice;
      notice.textContent = notice.hidden ? "" : noticeText(data.notice, data.query);
      if (places.length) {
        const bounds = L.latLngBounds(places.map((p) => [p.lat, p.lon]))
          .extend([here.lat, here.lon]);
        map.fitBounds(bounds, { padding: [36, 36], maxZoom: 16, animate: false });
      }
      status(places.length ? `${fmt(T.found, { n: places.length })} ${T.tap}` : T.tap);
      body.dataset.results = String(places.length);
      body.dataset.state = "ready";
    }

    function chips(id, onPress) {
      $(id).addEventListener("click", (e) => {
        const chip = e.target.closest(".chip");
        if (chip) { onPress(chip); keepUrl(); find(); }
      });
    }
    chips("needs", (chip) => {
      const code = chip.dataset.need, on = chip.getAttribute("aria-pressed") !== "true";
      chip.setAttribute("aria-pressed", String(on));
      if (chip.dataset.walkin) walkIn = on;
      else if (on) need.add(code); else need.delete(code);
    });
    chips("profiles", (chip) => {
      profile = chip.dataset.profile || null;
      $("profiles").querySelectorAll(".chip").forEach((c) =>
        c.setAttribute("aria-pressed", String(c === chip)));
    });

    // Search by name: subdistricts, districts and open stations (server-side, a few rows).
    async function suggest() {
      const text = $("search").value.trim(), list = $("search-results");
      if (!text) { list.hidden = true; return []; }
      const found = (await getJSON(`/locator/search?q=${encodeURIComponent(text)}&coords=${CRS}`))
        .results;
      list.innerHTML = found.length ? found.map((r, i) => `<li><button type="button"
        class="pick" data-i="${i}">${esc(r.name)} <small>${esc(C.labels[r.detail] || "")}</small>
        </button></li>`).join("") : `<li class="none">${esc(T.no_match)}</li>`;
      list.hidden = false;
      list.onclick = (e) => {
        const pick = e.target.closest(".pick");
        if (pick) choose(found[Number(pick.dataset.i)]);
      };
      return found;
    }
    function choose(r) {
      $("search").value = r.name;
      $("search-results").hidden = true;
      map.setView([r.lat, r.lon], 15, { animate: false });
      setHere(r.lon, r.lat);
    }
    $("search").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => suggest().catch(() => status(T.error, "error")), 250);
    });
    $("search-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const found = await suggest().catch(() => []);
      if (found.length) choose(found[0]);
    });

    function locate() {
      status(T.locating);
      position(setHere, () => { status(T.denied, "warn"); body.dataset.geo = "denied"; });
    }
    $("locate").addEventListener("click", locate);
    map.on("click", (e) => setHere(e.latlng.lng, e.latlng.lat));
    keepUrl();
    drawBoundaries(map, () => !here).catch(() => status(T.error, "error"));
    locate();
  }

  // ---- vector tiles from a .pmtiles archive: just enough MVT (2.1) to read point layers ----
  // A protobuf reader over one tile: layers (3) of features (2) with ids (1), tags (2),
  // geometry (4); keys (3) and values (4) per layer; extent (5). Points only (MoveTo).
  function mvtPoints(bytes, wanted) {
    let at = 0;
    const varint = () => {
      let value = 0, shift = 0, byte;
      do { byte = bytes[at++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
      return value;
    };
    const zigzag = (n) => (n % 2 ? -(n + 1) / 2 : n / 2);
    const text = (start, end) => new TextDecoder().decode(bytes.subarray(start, end));
    function message(end, onField) {
      while (at < end) {
        const key = varint(), field = key >> 3, wire = key & 7;
        if (wire === 2) { const len = varint(), start = at; at += len; onField(field, wire, start, at); }
        else if (wire === 0) onField(field, wire, varint());
        else if (wire === 1) { onField(field, wire, at); at += 8; }
        else if (wire === 5) { onField(field, wire, at); at += 4; }
        else throw new Error("unsupported protobuf wire type");
      }
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = [];
    message(bytes.length, (field, wire, start, end) => {
      if (field !== 3 || wire !== 2) return;
      let name = "", extent = 4096;
      const keys = [], values = [], features = [];
      const back = at;
      at = start;
      message(end, (f, w, s, e) => {
        if (f === 1) name = text(s, e);
        else if (f === 5) extent = s;
        else if (f === 3) keys.push(text(s, e));
        else if (f === 4) {
          const keep = at; at = s;
          let value = null;
          message(e, (vf, vw, vs, ve) => {
            if (vf === 1) value = text(vs, ve);
            else if (vf === 2) value = view.getFloat32(vs, true);
            else if (vf === 3) value = view.getFloat64(vs, true);
            else if (vf === 4 || vf === 5) value = vs;
            else if (vf === 6) value = zigzag(vs);
            else if (vf === 7) value = Boolean(vs);
          });
          at = keep; values.push(value);
        } else if (f === 2) features.push([s, e]);
      });
      if (name === wanted) {
        for (const [s, e] of features) {
          const keep = at; at = s;
          const feature = { id: null, tags: [], points: [] };
          message(e, (f, w, fs, fe) => {
            if (f === 1) feature.id = fs;
            else if (f === 2 || f === 4) {
              const inner = at; at = fs;
              const packed = [];
              while (at < fe) packed.push(varint());
              at = inner;
              if (f === 2) feature.tags = packed;
              else {
                let x = 0, y = 0;
                for (let i = 0; i < packed.length;) {
                  const command = packed[i] & 7, count = packed[i] >> 3;
                  i += 1;
                  for (let c = 0; c < count && command === 1; c += 1) {
                    x += zigzag(packed[i]); y += zigzag(packed[i + 1]); i += 2;
                    feature.points.push([x / extent, y / extent]);
                  }
                  if (command !== 1) break;
                }
              }
            }
          });
          at = keep;
          const props = {};
          for (let i = 0; i + 1 < feature.tags.length; i += 2) {
            props[keys[feature.tags[i]]] = values[feature.tags[i + 1]];
          }
          out.push({ id: feature.id, props, points: feature.points });
        }
      }
      at = back;
    });
    return out;
  }
  // A tile's fraction (0..1 across, 0..1 down) to WGS-84 (Web Mercator's inverse).
  function tileLonLat(z, x, y, fx, fy) {
    const n = 2 ** z;
    const lon = (x + fx) / n * 360 - 180;
    const lat = Math.atan(Math.sinh(Math.PI * (1 - 2 * (y + fy) / n))) * 180 / Math.PI;
    return [lon, lat];
  }

  // ---- the embeddable widget: every point on the map's one canvas (preferCanvas), never a
  // DOM node per point, so thousands stay light; the view is fixed by the URL ----
  function widget() {
    const map = makeMap();
    const points = L.layerGroup().addTo(map);
    let loaded = null, inFlight = null, features = [], placed = false;
    if (O.bbox) map.fitBounds([[O.bbox[1], O.bbox[0]], [O.bbox[3], O.bbox[2]]]);
    else if (O.lat !== null) map.setView([O.lat, O.lon], O.zoom ?? 13);
    const fixed = Boolean(O.bbox || O.lat !== null);
    const full = new URLSearchParams();
    if (C.lang !== "zh") full.set("lang", C.lang);
    if (O.needs.length) full.set("need", O.needs.join(","));
    $("full").href = `${R}/${full.toString() ? "?" + full : ""}`;
    $("full").textContent = T.open_full;

    function count() {
      const view = map.getBounds();
      const visible = features.filter((f) => view.contains(f.getLatLng())).length;
      $("count").textContent = fmt(T.places, { n: visible });
      body.dataset.visible = String(visible);
      body.dataset.drawn = String(features.length);
    }

    function popup(p) {
      const amenities = (p.amenities || []).map((a) => esc(C.labels[a] || a)).join(" · ");
      return `<b>${esc(p.name)}</b><br>${esc(C.labels[p.kind] || p.kind)}`
        + (p.opening_hours ? `<br>${esc(p.opening_hours)}` : "")
        + (access(p, "span") ? `<br>${access(p, "span")}` : "")
        + (amenities ? `<br>${amenities}` : "")
        + (p.host_name ? `<br>${esc(fmt(T.host, { h: p.host_name }))}` : "");
    }

    // With source=archive the stations come from the deployment's .pmtiles (a CDN): the tiles
    // of the view at the deepest zoom the archive has up to the map's, each station once.
    let archive = null, archiveHeader = null;
    async function archiveStations(view, statuses) {
      if (!archive) {
        archive = new pmtiles.PMTiles(C.archive);
        archiveHeader = await archive.getHeader();
      }
      const z = Math.max(8, Math.min(archiveHeader.maxZoom, Math.floor(map.getZoom())));
      const n = 2 ** z;
      const col = (lon) => Math.min(n - 1, Math.max(0, Math.floor((lon + 180) / 360 * n)));
      const row = (lat) => Math.min(n - 1, Math.max(0, Math.floor((1 - Math.asinh(Math.tan(
        lat * Math.PI / 180)) / Math.PI) / 2 * n)));
      const asks = [];
      for (let x = col(view.getWest()); x <= col(view.getEast()); x += 1) {
        for (let y = row(view.getNorth()); y <= row(view.getSouth()); y += 1) {
          asks.push(archive.getZxy(z, x, y).then((tile) => [x, y, tile]));
        }
      }
      const seen = new Map();
      for (const [x, y, tile] of await Promise.all(asks)) {
        if (!tile) continue;
        for (const f of mvtPoints(new Uint8Array(tile.data), "stations")) {
          const p = f.props;
          if (seen.has(f.id) || !f.points.length || !statuses.includes(p.status)) continue;
          if (O.kinds.length && !O.kinds.includes(p.kind)) continue;
          const amenities = p.amenities ? String(p.amenities).split(",") : [];
          if (O.needs.some((need) => !amenities.includes(need))) continue;
          const [lon, lat] = tileLonLat(z, x, y, ...f.points[0]);
          seen.set(f.id, { type: "Feature", id: f.id, geometry: { type: "Point",
            coordinates: [lon, lat] }, properties: { ...p, amenities } });
        }
      }
      return { features: [...seen.values()] };
    }

    // Points for the view plus a margin, refetched when the view leaves what was loaded.
    // /stations takes its bbox in WGS-84: on GCJ-02 maps the margin absorbs the < 1 km shift.
    async function load() {
      const statuses = [...(O.layers.includes("stations") ? ["open"] : []),
        ...(O.layers.includes("planned") ? ["planned", "under_construction"] : [])];
      if (!statuses.length) { body.dataset.state = "ready"; count(); return; }
      const view = map.getBounds().pad(0.5);
      if (loaded && loaded.contains(map.getBounds())) { count(); return; }
      if (inFlight) inFlight.abort();
      inFlight = new AbortController();
      const q = new URLSearchParams({ limit: 5000, coords: CRS,
        bbox: [view.getWest() - 0.01, view.getSouth() - 0.01, view.getEast() + 0.01,
          view.getNorth() + 0.01].map((v, i) => Math.max(i % 2 ? -90 : -180,
          Math.min(i % 2 ? 90 : 180, v)).toFixed(5)).join(",") });
      statuses.forEach((s) => q.append("status", s));
      O.kinds.forEach((k) => q.append("kind", k));
      O.needs.forEach((n) => q.append("amenity", n));
      body.dataset.state = "loading";
      try {
        const data = C.archive ? await archiveStations(view, statuses)
          : await getJSON(`/stations?${q}`, inFlight.signal);
        points.clearLayers();
        features = data.features.map((f) => {
          const p = f.properties, colour = C.colours[p.kind] || "#555", open = p.status === "open";
          const [lon, lat] = f.geometry.coordinates;
          return L.circleMarker([lat, lon], { radius: 6,
            color: open ? "#222" : colour, weight: open ? 1 : 2, dashArray: open ? null : "2 2",
            fillColor: colour, fillOpacity: open ? 0.9 : 0.15 })
            .bindPopup(() => popup(p)).addTo(points);
        });
        loaded = view;
        count();
        body.dataset.state = "ready";
      } catch (err) {
        if (err.name === "AbortError") return;
        body.dataset.state = "error";
        $("count").textContent = T.error;
      }
    }

    function nearest() {
      position(async (lon, lat) => {
        const q = new URLSearchParams({ lon, lat, coords: CRS, k: 3 });
        O.needs.forEach((n) => q.append("need", n));
        O.kinds.forEach((k) => q.append("kind", k));
        const data = await getJSON(`/locate?${q}`);
        L.circleMarker([lat, lon], { radius: 7, weight: 3, color: "#fff",
          fillColor: "#1c5fb8", fillOpacity: 1 }).addTo(map);
        const list = $("nearest");
        const rows = data.results.map((p) => `<li><b>${esc(p.name)}</b>
          ${esc(distance(p.distance_m))} <a class="nav" href="${esc(p.navigation.amap)}"
          target="_blank" rel="noopener">${esc(T.nav_amap)}</a></li>`);
        if (!rows.length && data.notice) rows.push(`<li>${esc(noticeText(data.notice, data.query))}</li>`);
        list.innerHTML = `<li class="title">${esc(T.nearest_title)}</li>${rows.join("")}`;
        list.hidden = false;
        const spots = data.results.map((p) => [p.lat, p.lon]);
        placed = true;
        map.fitBounds(L.latLngBounds([...spots, [lat, lon]]), { padding: [30, 30], maxZoom: 16, animate: false });
        body.dataset.nearest = String(data.results.length);
      }, () => { body.dataset.nearest = "denied"; });
    }

    const base = O.layers.includes("boundaries")
      ? drawBoundaries(map, () => !fixed && !placed).catch(() => null) : Promise.resolve(null);
    base.then(load).then(() => map.on("moveend", load));
    if (O.nearest) nearest();
  }

  if (C.mode === "widget") widget(); else locator();
})();
