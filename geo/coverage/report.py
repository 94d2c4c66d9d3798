"""Write a coverage result to files a planner can open: CSV, GeoJSON, PNG and the method.

Files in the output folder:

* ``coverage.csv`` — one row per boundary, ranked (1 = most underserved), every figure;
* ``coverage.geojson`` — the same rows with the boundary polygons, for GIS and the map;
* ``gaps.geojson`` — the area beyond a walk per boundary; ``pockets.geojson`` its largest pocket;
* ``coverage.png`` — a choropleth of the share of residents within a walk, gaps hatched;
* ``method.json`` — parameters and how each figure was produced;
* ``what-if.csv`` — with a what-if run: each figure before, after and the change.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import geopandas
import matplotlib
import pandas as pd

matplotlib.use("Agg")  # files only, never a window; must precede pyplot
import matplotlib.pyplot as plt
from matplotlib import font_manager

from geo.coverage.analysis import CoverageResult

# The share of residents within a walk, on every map and picture: cividis, a sequential palette
# made for colour-vision deficiency (Nuñez et al. 2018), dark where few are served; its
# lightness rises steadily, so the classes read in greyscale and to every deficiency (red/green
# palettes such as RdYlGn do not). SHARE_CLASSES are its colours at the five classes' middles.
SHARE_CMAP = "cividis"
SHARE_CLASSES: tuple[tuple[float, str], ...] = (
    (0.2, "#083370"), (0.4, "#4f576c"), (0.6, "#7d7c78"), (0.8, "#aea371"), (1.0, "#e5cf52"),
)  # fmt: skip
NO_RESIDENTS = "#ffffff"  # outlined, never a colour of the ramp
GAP_COLOUR = "#d55e00"  # Okabe-Ito vermillion: hatched areas beyond a walk, against the ramp
STATION_COLOUR = "#000000"

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "Source Han Sans SC")


def cjk_font() -> str | None:
    """A font with Chinese glyphs if one is installed (Debian: fonts-noto-cjk), else None."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def finite_figures(result: CoverageResult) -> pd.DataFrame:
    """The per-boundary table without infinities (residents per station of a boundary with
    no station): files and JSON leave such a figure empty."""
    return result.per_boundary.replace([math.inf, -math.inf], math.nan)


def coverage_csv(result: CoverageResult) -> str:
    """``coverage.csv``: one row per boundary, every figure (six significant digits)."""
    return str(finite_figures(result).to_csv(index=False, float_format="%.6g"))


def _with_polygons(result: CoverageResult,
                   boundaries: geopandas.GeoDataFrame) -> geopandas.GeoDataFrame:  # fmt: skip
    shapes = boundaries[["code", "geometry"]].drop_duplicates("code")
    figures = finite_figures(result)
    merged = shapes.merge(figures, on="code", how="inner")
    return geopandas.GeoDataFrame(merged, geometry="geometry", crs=4326).sort_values("rank")


def write_png(result: CoverageResult, boundaries: geopandas.GeoDataFrame,
              stations: geopandas.GeoDataFrame | None, path: Path, *,
              title: str = "Share of residents within a 15-minute walk",
              label_top: int = 5) -> Path:  # fmt: skip
    """A choropleth of the share within a walk, gaps hatched, stations as dots, top ranks named.

    Names are drawn only when a CJK font is installed; otherwise codes are drawn.
    """
    frame = _with_polygons(result, boundaries)
    font = cjk_font()
    with plt.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        figure, axes = plt.subplots(figsize=(9, 9), dpi=110)
        frame.plot(column="share_within_walk", ax=axes, cmap=SHARE_CMAP, vmin=0, vmax=1,
                   edgecolor="#555555", linewidth=0.4, legend=True,
                   legend_kwds={"label": "share of residents within a walk", "shrink": 0.6},
                   missing_kwds={"color": NO_RESIDENTS, "edgecolor": "#555555", "hatch": "..",
                                 "label": "no residents"})  # fmt: skip
        if result.gaps is not None and not result.gaps.empty:
            result.gaps.plot(ax=axes, facecolor="none", edgecolor=GAP_COLOUR, hatch="///",
                             linewidth=0.2)  # fmt: skip
        if stations is not None and not stations.empty:
            stations.plot(ax=axes, markersize=5, color=STATION_COLOUR, edgecolor="white",
                          linewidth=0.3, zorder=3)  # fmt: skip
        for row in frame.head(label_top).itertuples():
            point = row.geometry.representative_point()
            label = f"{row.rank}. {row.name if font else row.code}"
            box = {"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.8}
            axes.annotate(label, (point.x, point.y), fontsize=8, ha="center", bbox=box)
        west, south, east, north = frame.total_bounds
        margin = 0.03 * max(east - west, north - south)
        axes.set_xlim(west - margin, east + margin)  # stations beyond the area stay off-frame
        axes.set_ylim(south - margin, north + margin)
        axes.set_aspect(1 / math.cos(math.radians((south + north) / 2)))  # degrees, unstretched
        axes.set_title(title)
        axes.set_axis_off()
        method = result.method.get("reach", "")
        axes.text(0, -0.01, f"Nuanxin coverage · {method}", transform=axes.transAxes,
                  fontsize=7, color="#444444", va="top")  # fmt: skip
        figure.savefig(path, bbox_inches="tight")
        plt.close(figure)
    return path


def write_report(result: CoverageResult, boundaries: geopandas.GeoDataFrame, folder: Path, *,
                 stations: geopandas.GeoDataFrame | None = None,
                 what_if: pd.DataFrame | None = None) -> list[Path]:  # fmt: skip
    """Every report file into ``folder`` (created); returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    # No infinities in files: "residents per station" of a boundary without one is left empty.
    (folder / "coverage.csv").write_text(coverage_csv(result), encoding="utf-8")
    written.append(folder / "coverage.csv")
    _with_polygons(result, boundaries).to_file(folder / "coverage.geojson", driver="GeoJSON")
    written.append(folder / "coverage.geojson")
    if result.gaps is not None:
        gaps = result.gaps.drop(columns="largest_pocket")
        gaps.to_file(folder / "gaps.geojson", driver="GeoJSON")
        pockets = geopandas.GeoDataFrame(
            result.gaps[["code", "largest_pocket_km2"]],
            geometry=geopandas.GeoSeries(result.gaps["largest_pocket"], crs=4326),
        )
        pockets.to_file(folder / "pockets.geojson", driver="GeoJSON")
        written += [folder / "gaps.geojson", folder / "pockets.geojson"]
    written.append(write_png(result, boundaries, stations, folder / "coverage.png"))
    method = {"parameters": asdict(result.params), "method": result.method}
    (folder / "method.json").write_text(json.dumps(method, ensure_ascii=False, indent=2),
                                        encoding="utf-8")  # fmt: skip
    written.append(folder / "method.json")
    if what_if is not None:
        what_if.to_csv(folder / "what-if.csv", index=False, encoding="utf-8")
        written.append(folder / "what-if.csv")
    return written
