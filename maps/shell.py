"""A page's HTML shell, as the workbench, the national planner and the console render theirs.

Each page is a template whose script fills it from the API: the server hands it its words
(escaped, as ``$t_key``), its settings (the ``#config`` JSON block, safe inside ``<script>``),
its assets under the site's path prefix with content hashes, and the language switch.
"""

from __future__ import annotations

import html
import json
from string import Template
from typing import Any

from maps.locator import asset_url
from maps.pages import TEMPLATES


def render_shell(template: str, lang: str, words: dict[str, str], settings: dict[str, Any],
                 root: str, assets: dict[str, str], **extra: str) -> str:  # fmt: skip
    """``assets`` name the template's asset placeholders and their static files, e.g.
    ``{"css": "plan.css", "js": "plan.js"}``; ``root`` is "" at the site's root; ``extra``
    fills a template's own placeholders (already safe for HTML)."""
    config = json.dumps(settings | {"root": root}, ensure_ascii=False).replace("</", "<\\/")
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    return Template(text).substitute(
        lang="en" if lang == "en" else "zh-CN",
        switch_lang="zh" if lang == "en" else "en",
        lang_query="?lang=en" if lang == "en" else "",
        root=html.escape(root),
        config=config,
        **{name: root + asset_url(file) for name, file in assets.items()},
        **{f"t_{key}": html.escape(value) for key, value in words.items()},
        **extra,
    )
