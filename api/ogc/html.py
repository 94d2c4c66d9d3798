"""Minimal HTML views of the OGC API documents (the ``html`` conformance class).

Each page renders the same document the JSON response carries: its links, then the collections,
conformance classes, features or one feature's properties as tables. Every value is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:72rem}"
    "table{border-collapse:collapse;display:block;overflow-x:auto;max-width:100%}"
    "td,th{border:1px solid #ccc;padding:.2rem .5rem;"
    "text-align:left;vertical-align:top}"
)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return escape(", ".join(str(v) for v in value))
    return "" if value is None else escape(str(value))


def _links(links: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a href="{escape(link["href"])}">{escape(link.get("title") or link["rel"])}</a> '
        f"<small>{escape(link['rel'])} · {escape(link.get('type', ''))}</small></li>"
        for link in links
    )
    return f"<ul>{items}</ul>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _link_to(doc: dict[str, Any], rel: str, text: str) -> str:
    href = next((k["href"] for k in doc.get("links", []) if k["rel"] == rel), None)
    return f'<a href="{escape(href)}">{escape(text)}</a>' if href else escape(text)


def _features(features: list[dict[str, Any]]) -> str:
    keys = list(dict.fromkeys(k for f in features for k in (f.get("properties") or {})))
    rows = [[escape(str(f.get("id"))), *(_cell((f.get("properties") or {}).get(k)) for k in keys)]
            for f in features]  # fmt: skip
    return _table(["id", *keys], rows)


def render(title: str, doc: dict[str, Any]) -> str:
    """An HTML 5 page for an OGC API document (landing, conformance, collections, items,
    queryables)."""
    parts = [f"<h1>{escape(title)}</h1>"]
    if doc.get("description"):
        parts.append(f"<p>{escape(doc['description'])}</p>")
    if "numberMatched" in doc:
        parts.append(f"<p>{doc['numberReturned']} of {doc['numberMatched']} features</p>")
    parts.append(_links(doc.get("links", [])))
    if "collections" in doc:
        rows = [[_link_to(c, "self", c["id"]), escape(c.get("title", "")),
                 _link_to(c, "items", "items")] for c in doc["collections"]]  # fmt: skip
        parts.append(_table(["id", "title", "items"], rows))
    if "conformsTo" in doc:
        parts.append("<ul>" + "".join(f"<li>{escape(c)}</li>" for c in doc["conformsTo"]) + "</ul>")
    if "$schema" in doc:  # queryables: one row per property
        kinds = ("type", "format")
        rows = [[escape(name), escape(" ".join(str(spec[k]) for k in kinds if k in spec)),
                 escape(", ".join(spec.get("enum") or (spec.get("items") or {}).get("enum", []))),
                 escape(spec.get("description", ""))]
                for name, spec in doc.get("properties", {}).items()]  # fmt: skip
        parts.append(_table(["property", "type", "values", "description"], rows))
    if doc.get("type") == "FeatureCollection":
        parts.append(_features(doc.get("features", [])))
    if doc.get("type") == "Feature":
        props = doc.get("properties") or {}
        parts.append(
            _table(["property", "value"], [[escape(k), _cell(v)] for k, v in props.items()])
        )
        parts.append(f"<p>geometry: {escape(str((doc.get('geometry') or {}).get('type')))}</p>")
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )
