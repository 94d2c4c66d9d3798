"""A national run's files: GeoParquet and CSV per county and province, the map, the method.

Files in the output folder:

* ``counties.parquet`` / ``provinces.parquet`` — GeoParquet (polygons + every figure), for
  GeoPandas, QGIS or DuckDB;
* ``counties.csv`` / ``provinces.csv`` — the same figures, ranked (1 = most underserved);
* ``unmatched.csv`` — county polygons without a census row and census rows without a polygon;
* ``partitions.csv`` — each part's counties, cells, stations (own + halo), seconds, memory;
* ``coverage.png`` — counties shaded by the share within a walk (cividis), unmatched hatched;
* ``method.json`` — parameters and how each figure was made; ``cells/`` when cells were kept.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import geopandas
import matplotlib.pyplot as plt
import pandas as pd

from geo.coverage.report import NO_RESIDENTS, SHARE_CMAP, cjk_font
from geo.national.counties import NationalDemand
from geo.national.engine import NationalResult
from geo.national.kernel import NationalParams


def _finite(table: pd.DataFrame) -> pd.DataFrame:
    return table.replace([math.inf, -math.inf], math.nan)


def province_shapes(counties: geopandas.GeoDataFrame) -> geopandas.GeoDataFrame:
    """Each province's outline: the union of its counties (simplified ~100 m for files)."""
    dissolved = counties[["province", "geometry"]].dissolve("province").reset_index()
    dissolved["geometry"] = dissolved.geometry.simplify(0.001)
    return dissolved.rename(columns={"province": "code"})


def write_png(
    figures: pd.DataFrame, counties: geopandas.GeoDataFrame, path: Path, title: str, supply: str
) -> Path:
    shapes = counties[["code", "geometry"]].copy()
    shapes["geometry"] = shapes.geometry.simplify(0.01)
    frame = geopandas.GeoDataFrame(shapes.merge(_finite(figures), on="code"), crs=4326)
    font = cjk_font()
    with plt.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        figure, axes = plt.subplots(figsize=(11, 8.5), dpi=110)
        known = frame[frame["matched"]]
        known.plot(
            column="share_within_walk",
            ax=axes,
            cmap=SHARE_CMAP,
            vmin=0,
            vmax=1,
            edgecolor="#777777",
            linewidth=0.05,
            legend=True,
            legend_kwds={"label": "share of residents within a walk", "shrink": 0.6},
        )
        unknown = frame[~frame["matched"]]
        if not unknown.empty:
            unknown.plot(
                ax=axes, color=NO_RESIDENTS, edgecolor="#555555", hatch="..", linewidth=0.2
            )
        _, south, _, north = frame.total_bounds
        axes.set_aspect(1 / math.cos(math.radians((south + north) / 2)))
        axes.set_title(title)
        axes.set_axis_off()
        axes.text(
            0,
            -0.01,
            "Nuanxin national coverage · hatched: county without a census row (residents "
            f"unknown) · supply: {supply}",
            transform=axes.transAxes,
            fontsize=7,
            color="#444444",
            va="top",
        )
        figure.savefig(path, bbox_inches="tight")
        plt.close(figure)
    return path


def write_national(
    result: NationalResult,
    demand: NationalDemand,
    params: NationalParams,
    folder: Path,
    *,
    title: str,
    province_outlines: geopandas.GeoDataFrame | None = None,
) -> list[Path]:
    """Every file of the run into ``folder`` (created); returns the paths written.

    ``province_outlines`` (from :func:`province_shapes`) saves dissolving them again."""
    folder.mkdir(parents=True, exist_ok=True)
    counties = demand.counties
    county_table = geopandas.GeoDataFrame(
        counties[["code", "geometry"]].merge(_finite(result.counties), on="code"), crs=4326
    ).sort_values(["rank", "code"], na_position="last")
    province_table = geopandas.GeoDataFrame(
        (province_outlines if province_outlines is not None else province_shapes(counties)).merge(
            _finite(result.provinces), on="code"
        ),
        crs=4326,
    ).sort_values("rank")
    written = []
    for name, table in (("counties", county_table), ("provinces", province_table)):
        table.to_parquet(folder / f"{name}.parquet", index=False)
        pd.DataFrame(table.drop(columns="geometry")).to_csv(
            folder / f"{name}.csv", index=False, float_format="%.6g", encoding="utf-8"
        )
        written += [folder / f"{name}.parquet", folder / f"{name}.csv"]
    unmatched = pd.concat(
        [
            demand.unmatched_polygons.assign(side="polygon without a census row"),
            demand.unmatched_census.rename(columns={"county": "name"}).assign(
                side="census row without a polygon"
            ),
        ],
        ignore_index=True,
    )
    unmatched.to_csv(folder / "unmatched.csv", index=False, encoding="utf-8")
    result.parts_table.to_csv(folder / "partitions.csv", index=False, float_format="%.4g")
    written += [folder / "unmatched.csv", folder / "partitions.csv"]
    supply = result.method.get("supply", "")
    written.append(write_png(result.counties, counties, folder / "coverage.png", title, supply))
    method = {
        "parameters": asdict(params),
        "method": result.method,
        "worker_peak_mb": result.worker_peak_mb,
    }
    (folder / "method.json").write_text(
        json.dumps(method, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    written.append(folder / "method.json")
    return written
