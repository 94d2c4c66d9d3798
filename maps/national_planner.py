"""The national planner's page (``/plan/national``): its sentences in both languages and its
rendering.

A national run takes minutes on a cluster (``nuanxin coverage --scope national --store``,
``nuanxin site --scope national --store``), so the page computes nothing and asks nothing to
be computed: it reads the stored runs from ``/coverage/national`` and ``/siting/national`` and
draws them with the report map's palette, province by province or county by county.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from geo.coverage.report import NO_RESIDENTS, SHARE_CLASSES
from maps.basemaps import Basemap
from maps.shell import render_shell

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "暖心驿站 · 全国规划", "switch": "English", "to_district": "区县工作台",
        "map": "全国覆盖地图", "runs": "已存的全国计算", "coverage_run": "覆盖计算",
        "level": "显示", "provinces": "省级", "counties": "区县级", "province": "省份",
        "all_provinces": "全部省份", "siting_run": "选址方案", "no_siting": "不显示选址",
        "how": "计算在命令行完成（几分钟，Dask 集群）：nuanxin coverage --scope national "
               "--census … --store；nuanxin site --scope national --census … --p N --store。",
        "ranking": "欠覆盖排名", "rank": "名次", "name": "名称", "in_province": "省份",
        "share": "步行可达居民", "residents": "居民", "uncovered": "步行不可达居民",
        "stations": "站点", "score": "得分", "mean_nearest": "到最近站点平均距离",
        "by_area": "（按面积）", "rank_note": "名次为本次计算全部 {n} 个区县中的名次。",
        "unranked": "{n} 个区县未匹配普查人口，按面积计比例，不参与排名。",
        "sites": "建议新站点", "site_county": "所在区县", "gain": "新增步行可达居民",
        "gain_alone": "单独可增", "siting_summary": "{n} 处新站点使 {r} 名居民进入步行范围；"
        "任何 {n} 处候选点最多 {b}：差距 {g}（已证明）。",
        "sites_here": "本范围内 {n} 处（共 {t} 处）。",
        "method": "方法", "out": "导出", "csv": "表格 CSV", "geojson": "GeoJSON",
        "sites_csv": "新站点 CSV", "share_url": "复制分享链接", "copied": "链接已复制。",
        "legend": "步行 {walk} 分钟内居民比例", "legend_none": "无居民数据",
        "legend_site": "建议新站点", "scope": "范围", "created": "计算时间",
        "resolution": "H3 分辨率", "total_residents": "居民总数",
        "total_within": "步行可达", "total_stations": "站点数", "loading": "正在读取…",
        "ready": "{n} 个{level}", "lvl_province": "省份", "lvl_county": "区县",
        "no_runs": "还没有存储的全国覆盖计算。请运行：nuanxin coverage --scope national "
                   "--census 文件 --store",
        "error": "出错了：{e}", "offline": "无法连接服务器。",
    },
    "en": {
        "title": "Nuanxin · national planner", "switch": "中文",
        "to_district": "District workbench", "map": "National coverage map",
        "runs": "Stored national runs", "coverage_run": "Coverage run", "level": "Show",
        "provinces": "Provinces", "counties": "Counties", "province": "Province",
        "all_provinces": "All provinces", "siting_run": "Siting run",
        "no_siting": "No siting shown",
        "how": "Runs are computed from the command line (minutes, on a Dask cluster): "
               "nuanxin coverage --scope national --census … --store; "
               "nuanxin site --scope national --census … --p N --store.",
        "ranking": "Underserved ranking", "rank": "Rank", "name": "Name",
        "in_province": "Province", "share": "Residents within a walk", "residents": "Residents",
        "uncovered": "Residents beyond a walk", "stations": "Stations", "score": "Score",
        "mean_nearest": "Mean distance to the nearest station", "by_area": " (by area)",
        "rank_note": "Ranks are among all {n} counties of the run.",
        "unranked": "{n} counties matched no census row: their shares are by area and they "
                    "are not ranked.",
        "sites": "Proposed new stations", "site_county": "County",
        "gain": "Residents newly within a walk", "gain_alone": "On its own",
        "siting_summary": "{n} new stations bring {r} residents within a walk; no {n} "
                          "candidates can bring more than {b}: gap {g} (proven).",
        "sites_here": "{n} here (of {t}).", "method": "Method", "out": "Export",
        "csv": "Table CSV", "geojson": "GeoJSON", "sites_csv": "Sites CSV",
        "share_url": "Copy the shareable link", "copied": "Link copied.",
        "legend": "Share of residents within {walk} min walk", "legend_none": "No population",
        "legend_site": "Proposed station", "scope": "Scope", "created": "Computed",
        "resolution": "H3 resolution", "total_residents": "Residents",
        "total_within": "Within a walk", "total_stations": "Stations", "loading": "Reading…",
        "ready": "{n} {level}", "lvl_province": "provinces", "lvl_county": "counties",
        "no_runs": "No national coverage run is stored yet. Run: nuanxin coverage --scope "
                   "national --census FILE --store",
        "error": "Error: {e}", "offline": "The server cannot be reached.",
    },
}  # fmt: skip


def national_config(lang: str, basemap: Basemap) -> dict[str, Any]:
    """What ``national.js`` is given: its words and the report map's palette."""
    return {
        "lang": lang,
        "t": STRINGS[lang],
        "share_classes": [[upper, colour] for upper, colour in SHARE_CLASSES],
        "no_residents": NO_RESIDENTS,
        "site_colour": "#0072b2",  # Okabe-Ito blue, apart from the ramp
        "basemap": asdict(basemap) | {"crs": basemap.crs.value},
    }


def national_html(lang: str, basemap: Basemap, root: str = "") -> str:
    """The page's shell; ``national.js`` fills it from the API. ``root``: the site's path
    prefix behind a proxy ("" at the root)."""
    assets = {"plan_css": "plan.css", "css": "national.css", "js": "national.js"}
    return render_shell("national.html", lang, STRINGS[lang], national_config(lang, basemap),
                        root, assets)  # fmt: skip
