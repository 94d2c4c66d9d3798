"""``nuanxin map``: the planner's report map (HTML) and a static PNG, from the database.

The data comes from ``geo`` (the store's frames, the analysis, the siting), the map from
``maps``, which never touches the database. folium is imported only when the command runs, so
``nuanxin --help`` and the other commands never load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import friendly_errors
from cli.options import BoundaryCodes, Vintage, engine, parse_time
from geo.config import get_settings
from geo.errors import InvalidInputError


@friendly_errors
def map_command(
    boundary: BoundaryCodes = None,
    vintage: Vintage = None,
    at: Annotated[
        str | None, typer.Option(help="count only stations open then, e.g. 2026-11-29T05:00")
    ] = None,
    with_sites: Annotated[
        int, typer.Option("--with-sites", help="also propose this many new sites (MCLP)")
    ] = 0,
    out: Annotated[Path, typer.Option(help="the HTML map to write")] = Path("report.html"),
    png: Annotated[Path | None, typer.Option(help="also a static PNG for documents")] = None,
    inline: Annotated[
        bool, typer.Option(help="embed Leaflet so the file opens offline (else from a CDN)")
    ] = True,
    tiles: Annotated[
        str | None, typer.Option(help="WGS-84 tile URL template for users online; none by default")
    ] = None,
    tiles_attr: Annotated[str | None, typer.Option(help="attribution of --tiles")] = None,
    title: Annotated[str, typer.Option(help="title on the map")] = "工会驿站步行可达覆盖",
) -> None:
    """Write a standalone HTML map of coverage, gaps, stations and proposed sites."""
    from geo.coverage.demand import worker_points
    from geo.coverage.query import CoverageQuery, run_coverage
    from geo.coverage.report import write_png
    from geo.store.frames import load_boundaries, load_enterprises, load_stations
    from maps.report import coverage_map, write_html

    if with_sites < 0:
        raise InvalidInputError("--with-sites must be 0 or more", field="with_sites")
    if out.suffix.lower() not in (".html", ".htm"):
        raise InvalidInputError("--out takes an .html file", field="out")
    if png is not None and png.suffix.lower() != ".png":
        raise InvalidInputError("--png takes a .png file", field="png")
    moment = parse_time(at)
    with engine(get_settings()).connect() as conn:
        boundaries = load_boundaries(conn, vintage=vintage, codes=boundary or [])
        stations = load_stations(conn)
        enterprises = load_enterprises(conn)
    today = run_coverage(CoverageQuery(at=moment), boundaries, stations,
                         workers=worker_points(enterprises))  # fmt: skip
    result, supply = today.result, today.supply
    proposals = None
    if with_sites:
        from geo.siting.frames import prepare, site

        data = prepare(boundaries, supply.stations, enterprises=enterprises)
        proposals = site(data, "mclp", p=with_sites).proposals
    if moment is not None:
        title = f"{title}（{moment:%Y-%m-%d %H:%M} 开放的站点）"
    figure = coverage_map(result, boundaries, stations, proposals=proposals, title=title,
                          tiles=tiles, tiles_attr=tiles_attr, inline=inline)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    written = [write_html(figure, out)]
    if png is not None:
        png.parent.mkdir(parents=True, exist_ok=True)
        written.append(write_png(result, boundaries, supply.stations, png))
    for path in written:
        typer.echo(f"written: {path} ({path.stat().st_size:,} bytes)")
