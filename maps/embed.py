"""The widget on a partner's site: the iframe and script snippets, ``/embed.js`` and oEmbed."""

from __future__ import annotations

import html
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl

from maps.locator import STRINGS, WidgetOptions


def iframe_snippet(base_url: str, options: WidgetOptions, width: str = "100%") -> str:
    """The ``<iframe>`` a partner pastes (also oEmbed's ``html``)."""
    query = options.query()
    src = f"{base_url}/embed" + (f"?{query}" if query else "")
    allow = ' allow="geolocation"' if options.nearest else ""
    title = "暖心地图 Nuanxin map"
    return (f'<iframe src="{html.escape(src)}" width="{html.escape(width)}" '
            f'height="{options.height}" style="border:0" loading="lazy" title="{title}"'
            f'{allow}></iframe>')  # fmt: skip


def script_snippet(base_url: str, options: WidgetOptions) -> str:
    """The ``<script>`` form: ``/embed.js`` turns its data-* attributes into the same iframe."""
    pairs = parse_qsl(options.query())
    data = "".join(f' data-{name}="{html.escape(value)}"' for name, value in pairs)
    return f'<script src="{html.escape(base_url)}/embed.js"{data} async></script>'


EMBED_JS = r"""(function () {
  "use strict";
  // Nuanxin map widget: <script src=".../embed.js" data-kinds="rest_point" ...></script>
  var me = document.currentScript;
  if (!me) return;
  var src = new URL(me.src), params = new URLSearchParams();
  for (var i = 0; i < me.attributes.length; i++) {
    var a = me.attributes[i];
    if (a.name.indexOf("data-") === 0) params.set(a.name.slice(5), a.value);
  }
  var frame = document.createElement("iframe");
  var query = params.toString();
  // the widget lives beside this script, under whatever prefix the site is served at
  var home = src.origin + src.pathname.replace(/\/embed\.js$/, "");
  frame.src = home + "/embed" + (query ? "?" + query : "");
  frame.width = "100%";
  frame.height = params.get("height") || "400";
  frame.style.border = "0";
  frame.loading = "lazy";
  frame.title = "暖心地图 Nuanxin map";
  if (params.get("nearest") === "1") frame.allow = "geolocation";
  me.parentNode.insertBefore(frame, me.nextSibling);
})();
"""


def oembed(base_url: str, options: WidgetOptions, maxwidth: int | None,
           maxheight: int | None) -> dict[str, Any]:  # fmt: skip
    """An oEmbed 1.0 "rich" response for a widget (or locator) URL of this site."""
    height = min(options.height, maxheight) if maxheight else options.height
    width = min(640, maxwidth) if maxwidth else 640
    sized = WidgetOptions(**{**asdict(options), "height": height})
    return {
        "version": "1.0",
        "type": "rich",
        "provider_name": "Nuanxin 暖心",
        "provider_url": base_url + "/",
        "title": STRINGS[options.lang]["title"],
        "html": iframe_snippet(base_url, sized, width=str(width)),
        "width": width,
        "height": height,
    }
