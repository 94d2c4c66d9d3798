"""The planner's workbench (``/plan``): its sentences in both languages and its rendering.

The page computes nothing: every figure it shows comes from ``/coverage``,
``/coverage/what-if`` and ``/jobs/siting``, the same analysis the CLI runs, so the page and the
report files cannot disagree. Here the server only renders the shell and hands the script its
words, the palette of the report map and the vocabularies in a JSON block.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from geo.coverage.report import GAP_COLOUR, NO_RESIDENTS, SHARE_CLASSES
from geo.vocab import LABELS_ZH, StationKind, StationStatus
from maps.basemaps import Basemap
from maps.locator import LABELS_EN
from maps.pages import KIND_COLOURS
from maps.shell import render_shell

LANGS = ("zh", "en")
STATUS_EN = {"planned": "Planned", "under_construction": "Under construction", "open": "Open",
             "temporarily_closed": "Temporarily closed", "closed": "Closed"}  # fmt: skip

# Every sentence of the page. Figures' names follow the CLI's columns (coverage.csv).
STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "暖心驿站 · 规划工作台", "switch": "English", "map": "覆盖地图",
        "to_national": "全国规划",
        "scope": "分析范围", "areas": "区或街道", "area_search": "输入名称或 12 位代码",
        "vintage": "边界版本", "kinds": "计入的站点类型", "statuses": "计入的状态",
        "at": "在此时开放", "at_any": "不限时间", "walk": "步行（分钟）", "analyse": "分析",
        "presets": "常用时刻", "p_0500": "05:00 环卫早班", "p_1200": "12:00 午间",
        "p_2030": "20:30 晚间", "p_sunday": "周日 10:00", "p_holiday": "法定节假日 10:00",
        "ranking": "欠覆盖排名", "rank": "名次", "name": "街道", "share": "步行可达居民",
        "share_workers": "步行可达户外劳动者", "residents": "居民", "stations": "站点",
        "score": "得分", "details": "得分构成", "uncovered": "步行不可达居民",
        "part_beyond_walk": "步行不可达比例", "part_load": "每站服务居民",
        "part_uncovered": "步行不可达居民数", "part_workers_beyond_walk": "劳动者步行不可达比例",
        "method": "方法", "by_area": "（按面积）",
        "legend": "步行 {walk} 分钟内居民比例", "legend_none": "无居民数据",
        "legend_gap": "步行不可达区域", "legend_planned": "规划中（空心）",
        "whatif": "方案推演", "whatif_help": "点地图添加站点；点站点可关闭、开放或移动。",
        "add_mode": "点击地图添加站点", "add_mode_on": "正在添加：点地图上的位置",
        "add_centre": "在地图中心添加", "undo": "撤销", "undo_last": "撤销上一步",
        "compare": "比较", "no_changes": "尚未做任何改动。",
        "c_add": "新增 {name}", "c_move": "移动 {name}", "c_close": "关闭 {name}",
        "c_open": "开放 {name}", "new_station": "新站点 {n}",
        "close_it": "在方案中关闭", "open_it": "在方案中开放", "move_it": "拖动以移动",
        "move_centre": "移到地图中心",
        "before": "现状", "after": "方案", "change": "变化",
        "newly": "新增步行可达：居民 {r}，户外劳动者 {w}", "unknown": "未知",
        "siting": "选址优化", "mclp": "新增 N 处，覆盖最多", "lscp": "最少站点达到比例",
        "sites": "站点数", "target": "目标比例（%）", "run": "开始计算", "cancel": "取消",
        "job_queued": "排队中…", "job_running": "计算中…", "job_succeeded": "已完成",
        "job_failed": "失败：{e}", "job_cancelled": "已取消",
        "gain": "新增覆盖：居民 {r}，劳动者 {w}", "take": "加入方案", "save": "保存为规划站点",
        "saved": "已保存为规划站点（编号 {id}）。", "token": "编辑令牌（仅保存在本页内存中）",
        "need_token": "保存需要编辑令牌。",
        "out": "导出", "csv": "表格 CSV", "xlsx": "表格 XLSX", "html": "报告地图 HTML",
        "png": "报告地图 PNG", "changes_csv": "方案 CSV（可用于 --what-if）",
        "plan_csv": "方案后表格 CSV", "share_url": "复制分享链接", "copied": "链接已复制。",
        "population": "人口数据",
        "pop_help": "CSV 或 XLSX，按代码或名称；区的总数按面积分配到街道。",
        "check": "检查", "import": "导入", "pop_ok": "可写入 {n} 行。",
        "pop_written": "已写入 {n} 行。",
        "pop_rejected": "{n} 行被拒绝：", "line": "位置", "column": "列", "reason": "原因",
        "loading": "正在计算…", "ready": "{n} 个街道", "pick_area": "请先选择区或街道。",
        "error": "出错了：{e}", "offline": "无法连接服务器。", "remove": "移除",
        "view": "地图显示", "view_before": "现状", "view_after": "方案",
        "new_kind": "新站点类型",
    },
    "en": {
        "title": "Nuanxin · planner's workbench", "switch": "中文", "map": "Coverage map",
        "to_national": "National planner",
        "scope": "Scope", "areas": "District or subdistricts",
        "area_search": "Name or 12-digit code",
        "vintage": "Boundary edition", "kinds": "Station kinds counted",
        "statuses": "Statuses counted", "at": "Open at", "at_any": "Any time",
        "walk": "Walk (minutes)", "analyse": "Analyse", "presets": "Moments",
        "p_0500": "05:00 sanitation shift", "p_1200": "12:00 noon", "p_2030": "20:30 evening",
        "p_sunday": "Sunday 10:00", "p_holiday": "Public holiday 10:00",
        "ranking": "Underserved ranking", "rank": "Rank", "name": "Subdistrict",
        "share": "Residents within a walk", "share_workers": "Workers within a walk",
        "residents": "Residents", "stations": "Stations", "score": "Score",
        "details": "Score parts", "uncovered": "Residents beyond a walk",
        "part_beyond_walk": "Share beyond a walk", "part_load": "Residents per station",
        "part_uncovered": "Residents beyond a walk",
        "part_workers_beyond_walk": "Workers' share beyond a walk", "method": "Method",
        "by_area": " (by area)", "legend": "Share of residents within {walk} min walk",
        "legend_none": "No population", "legend_gap": "Beyond a walk",
        "legend_planned": "Planned (hollow)", "whatif": "What-if",
        "whatif_help": "Click the map to add a station; click a station to close, open or move it.",
        "add_mode": "Add a station by clicking", "add_mode_on": "Adding: click a place on the map",
        "add_centre": "Add at the map's centre", "undo": "Undo", "undo_last": "Undo last",
        "compare": "Compare", "no_changes": "No changes yet.", "c_add": "Add {name}",
        "c_move": "Move {name}", "c_close": "Close {name}", "c_open": "Open {name}",
        "new_station": "New station {n}", "close_it": "Close in the what-if",
        "open_it": "Open in the what-if", "move_it": "Drag to move",
        "move_centre": "Move to the map's centre", "before": "Before", "after": "After",
        "change": "Change", "newly": "Newly within a walk: {r} residents, {w} workers",
        "unknown": "unknown", "siting": "Siting", "mclp": "Propose N sites (most covered)",
        "lscp": "Fewest sites to reach a share", "sites": "Sites", "target": "Target share (%)",
        "run": "Run", "cancel": "Cancel", "job_queued": "Queued…", "job_running": "Running…",
        "job_succeeded": "Done", "job_failed": "Failed: {e}", "job_cancelled": "Cancelled",
        "gain": "Adds {r} residents, {w} workers", "take": "Take into the what-if",
        "save": "Save as a planned station", "saved": "Saved as a planned station (id {id}).",
        "token": "Editor's token (kept in this page's memory only)",
        "need_token": "Saving needs an editor's token.", "out": "Export",
        "csv": "Table CSV", "xlsx": "Table XLSX", "html": "Report map HTML",
        "png": "Report map PNG", "changes_csv": "What-if CSV (for --what-if)",
        "plan_csv": "Table after the what-if (CSV)", "share_url": "Copy the shareable link",
        "copied": "Link copied.", "population": "Population",
        "pop_help": "CSV or XLSX keyed by code or name; a district's total is spread over its "
                    "subdistricts by area.",
        "check": "Check", "import": "Import", "pop_ok": "{n} rows can be written.",
        "pop_written": "{n} rows written.", "pop_rejected": "{n} rows refused:",
        "line": "Where", "column": "Column", "reason": "Reason", "loading": "Computing…",
        "ready": "{n} subdistricts", "pick_area": "Pick a district or subdistricts first.",
        "error": "Error: {e}", "offline": "The server cannot be reached.", "remove": "Remove",
        "view": "Map shows", "view_before": "today", "view_after": "the what-if",
        "new_kind": "Kind of new stations",
    },
}  # fmt: skip


def _labels(lang: str) -> dict[str, dict[str, str]]:
    if lang == "en":
        kinds = {str(k): LABELS_EN[str(k)] for k in StationKind}
        return {"kinds": kinds, "statuses": dict(STATUS_EN)}
    return {"kinds": {str(k): LABELS_ZH[k] for k in StationKind},
            "statuses": {str(s): LABELS_ZH[s] for s in StationStatus}}  # fmt: skip


def plan_config(lang: str, basemap: Basemap) -> dict[str, Any]:
    """What ``plan.js`` is given: words, vocabularies and the report map's palette."""
    return {
        "lang": lang,
        "t": STRINGS[lang],
        "labels": _labels(lang),
        "kind_colours": {str(k): c for k, c in KIND_COLOURS.items()},
        "share_classes": [[upper, colour] for upper, colour in SHARE_CLASSES],
        "no_residents": NO_RESIDENTS,
        "gap_colour": GAP_COLOUR,
        "basemap": asdict(basemap) | {"crs": basemap.crs.value},
    }


def plan_html(lang: str, basemap: Basemap, root: str = "") -> str:
    """The page's shell; ``plan.js`` fills it from the API. ``root``: the site's path prefix
    behind a proxy ("" at the root)."""
    return render_shell("plan.html", lang, STRINGS[lang], plan_config(lang, basemap), root,
                        {"css": "plan.css", "js": "plan.js"}, gap=GAP_COLOUR)  # fmt: skip
