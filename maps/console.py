"""The union staff console (``/console``): its sentences in both languages and its shell.

The page holds no rule of its own. It signs in through ``/console/session`` (an HttpOnly cookie;
the token is sent once and never stored by the page), reads ``/console/*``, ``/reports`` and
``/districts/service``, and writes only through the audited write API with the CSRF header, so
what it offers and what the API accepts cannot drift apart: a refused write shows the API's
own reason.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel

from geo.importers.records import EnterpriseRecord, StationRecord
from geo.vocab import LABELS_ZH, Access, Amenity, HostType, Service, StationKind, StationStatus
from maps.basemaps import Basemap
from maps.locator import LABELS_EN
from maps.pages import KIND_COLOURS
from maps.planner import STATUS_EN
from maps.shell import render_shell

LANGS = ("zh", "en")
_VOCABS = {"kinds": StationKind, "statuses": StationStatus, "amenities": Amenity,
           "services": Service, "host_types": HostType, "access": Access}  # fmt: skip

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "暖心驿站 · 工作人员后台", "switch": "English", "signin": "登录",
        "signin_help": "粘贴管理员发给您的编辑令牌。令牌只发送一次，用于建立会话，本页不保存令牌。",
        "token": "编辑令牌", "signout": "退出登录", "expired": "会话已过期，请重新登录。",
        "tab_places": "地点", "tab_upload": "批量上传", "tab_reports": "劳动者反馈",
        "tab_due": "核查", "tab_editors": "编辑人员",
        "search": "搜索名称或地址", "all": "全部", "kind": "类型", "status": "状态",
        "area": "街道", "stale": "超过 180 天未核实", "waiting": "有待处理反馈",
        "found": "{n} 处", "new_place": "新建地点", "pick": "在列表或地图上选择一个地点。",
        "name": "名称", "address": "地址", "phone": "电话", "host_type": "主办方类型",
        "host_name": "主办单位", "opened_on": "开放日期", "closed_on": "关闭日期",
        "opening_hours": "开放时间（OSM 格式）", "hours_help": "例如 Mo-Fr 08:00-18:00; PH off",
        "hours_ok": "格式正确。", "preview": "未来 7 天", "closed_day": "不开放",
        "amenities": "设施", "services": "服务", "floor_area_m2": "面积（平方米）",
        "access": "如何进入", "access_condition": "进入条件（如“仅限已登记骑手”；人人可进则留空）",
        "seats": "座位", "contact_name": "联系人（不公开）", "contact_phone": "联系电话（不公开）",
        "internal_notes": "内部备注（不公开）", "location": "位置",
        "location_help": "点地图或拖动标记移动位置（按底图坐标系，保存为 WGS-84）。",
        "save": "保存", "saved": "已保存。", "verified": "今天已核实",
        "verified_done": "已记录今天核实。", "lifecycle": "生命周期",
        "to_open": "开放（今天）", "to_closed": "关闭（今天）", "to_paused": "暂停开放",
        "history": "修改记录", "revert": "撤销此修改", "reverted": "已撤销。",
        "no_history": "暂无修改记录。", "last_verified": "最近核实",
        "never": "从未", "reports_waiting": "待处理反馈 {n} 条",
        "upload_help": "选择 Excel、CSV、GeoJSON、GeoPackage、FlatGeobuf、GeoParquet 或 KML 文件"
                       "（Shapefile 请压缩为 zip 上传边界），先检查再导入，结果与命令行完全一致。",
        "file": "文件", "what": "导入到", "stations": "站点", "enterprises": "企业",
        "default_kind": "没有类型的行按此类型", "none": "（不设）",
        "source": "没有来源的行的来源", "crs": "坐标系", "mapping": "列对应",
        "mapping_help": "表头 → 字段；选“忽略”丢弃该列。", "ignore": "忽略",
        "add_column": "添加一列", "dry_run": "检查（不写入）", "commit": "导入",
        "would": "将新增 {i}，更新 {u}，不变 {c}。", "done": "已新增 {i}，更新 {u}，不变 {c}。",
        "rejected": "{n} 行被拒绝：", "line": "行", "column": "列", "reason": "原因",
        "promise": "承诺：{h} 小时内答复", "age": "{h} 小时前", "overdue": "已超时",
        "accept": "采纳", "reject": "驳回", "accepted": "已采纳。", "rejected_one": "已驳回。",
        "no_reports": "没有待处理反馈。", "in_time": "按时答复", "verified_share": "30 天内核实",
        "district": "区", "due_list": "需要核查的地点", "no_due": "没有需要核查的地点。",
        "editors": "编辑人员", "role": "角色", "last_used": "最近使用", "revoked": "已停用",
        "revoke": "停用", "add_editor": "添加编辑", "editor_name": "名称",
        "district_code": "区代码（12 位）", "admin": "管理员", "district_editor": "区编辑",
        "new_token": "新令牌（只显示这一次，请安全转交）：", "you": "（您）",
        "error": "出错了：{e}", "offline": "无法连接服务器。", "loading": "加载中…",
        "yes": "是", "no": "否", "all_areas": "全部街道",
        "r_closed": "关门", "r_locked": "锁门", "r_full": "满员", "r_no_hot_water": "无热水",
        "r_no_toilet": "无厕所", "r_short_hours": "开放时间缩短", "r_turned_away": "被拒之门外",
        "r_wrong_location": "位置错误", "r_confirmed_open": "确认开放",
        "d_workday": "工作日", "d_weekend": "周末", "d_holiday": "节假日",
        "d_makeup_workday": "调休上班",
    },
    "en": {
        "title": "Nuanxin · staff console", "switch": "中文", "signin": "Sign in",
        "signin_help": "Paste the editor's token your admin gave you. It is sent once to open a "
                       "session; this page never keeps it.",
        "token": "Editor's token", "signout": "Sign out",
        "expired": "Your session has ended; please sign in again.",
        "tab_places": "Places", "tab_upload": "Upload", "tab_reports": "Workers' reports",
        "tab_due": "Checks", "tab_editors": "Editors",
        "search": "Search name or address", "all": "All", "kind": "Kind", "status": "Status",
        "area": "Subdistrict", "stale": "Not verified for 180 days", "waiting": "Reports waiting",
        "found": "{n} places", "new_place": "New place",
        "pick": "Pick a place in the list or on the map.",
        "name": "Name", "address": "Address", "phone": "Phone", "host_type": "Host type",
        "host_name": "Host", "opened_on": "Opened on", "closed_on": "Closed on",
        "opening_hours": "Opening hours (OSM syntax)",
        "hours_help": "e.g. Mo-Fr 08:00-18:00; PH off",
        "hours_ok": "Valid.", "preview": "Next 7 days", "closed_day": "closed",
        "amenities": "Amenities", "services": "Services", "floor_area_m2": "Floor area (m²)",
        "access": "How to get in",
        "access_condition": "Who may enter (e.g. registered riders only; blank: anyone)",
        "seats": "Seats", "contact_name": "Contact (private)",
        "contact_phone": "Contact phone (private)", "internal_notes": "Internal notes (private)",
        "location": "Location",
        "location_help": "Click the map or drag the marker (in the basemap's system; stored as "
                         "WGS-84).",
        "save": "Save", "saved": "Saved.", "verified": "Verified today",
        "verified_done": "Recorded as verified today.", "lifecycle": "Life cycle",
        "to_open": "Open (today)", "to_closed": "Close (today)", "to_paused": "Pause",
        "history": "History", "revert": "Revert this change", "reverted": "Reverted.",
        "no_history": "No changes yet.", "last_verified": "Last verified", "never": "never",
        "reports_waiting": "{n} reports waiting",
        "upload_help": "Choose an Excel, CSV, GeoJSON, GeoPackage, FlatGeobuf, GeoParquet or "
                       "KML file (a Shapefile zipped, for boundaries); check it, then import. "
                       "The result is exactly the CLI's.",
        "file": "File", "what": "Import into", "stations": "Stations",
        "enterprises": "Enterprises", "default_kind": "Kind of rows without one",
        "none": "(none)", "source": "Source of rows without one", "crs": "Coordinates",
        "mapping": "Columns", "mapping_help": "Header → field; pick ‘ignore’ to drop a column.",
        "ignore": "ignore", "add_column": "Add a column", "dry_run": "Check (writes nothing)",
        "commit": "Import", "would": "Would insert {i}, update {u}, leave {c} unchanged.",
        "done": "Inserted {i}, updated {u}, {c} unchanged.", "rejected": "{n} rows refused:",
        "line": "Line", "column": "Column", "reason": "Reason",
        "promise": "Promise: an answer within {h} h", "age": "{h} h ago", "overdue": "overdue",
        "accept": "Accept", "reject": "Reject", "accepted": "Accepted.",
        "rejected_one": "Rejected.", "no_reports": "No reports waiting.",
        "in_time": "Answered in time", "verified_share": "Verified in 30 days",
        "district": "District", "due_list": "Places due for a check",
        "no_due": "No place is due.", "editors": "Editors", "role": "Role",
        "last_used": "Last used", "revoked": "Revoked", "revoke": "Revoke",
        "add_editor": "Add an editor", "editor_name": "Name",
        "district_code": "District code (12 digits)", "admin": "Admin",
        "district_editor": "District editor",
        "new_token": "New token (shown only now; hand it over safely):", "you": " (you)",
        "error": "Error: {e}", "offline": "The server cannot be reached.",
        "loading": "Loading…", "yes": "yes", "no": "no", "all_areas": "All subdistricts",
        "r_closed": "Closed", "r_locked": "Locked", "r_full": "Full",
        "r_no_hot_water": "No hot water", "r_no_toilet": "No toilet",
        "r_short_hours": "Shorter hours", "r_turned_away": "Turned away",
        "r_wrong_location": "Wrong location", "r_confirmed_open": "Confirmed open",
        "d_workday": "Workday", "d_weekend": "Weekend", "d_holiday": "Holiday",
        "d_makeup_workday": "Make-up workday",
    },
}  # fmt: skip


def _label(member: Any, lang: str) -> str:
    if lang == "en":
        text = LABELS_EN.get(str(member)) or STATUS_EN.get(str(member))
        return text or str(member).replace("_", " ").capitalize()
    return LABELS_ZH.get(member, str(member))


def _fields(record: type[BaseModel]) -> list[str]:
    """The columns an upload may map a header to: the importer's own record fields."""
    return [name for name in record.model_fields if name != "source_crs"] + ["coord_system"]


def console_config(lang: str, basemap: Basemap) -> dict[str, Any]:
    """What ``console.js`` is given: words, the vocabularies of every field, the basemap."""
    return {
        "lang": lang,
        "t": STRINGS[lang],
        "vocab": {name: {str(m): _label(m, lang) for m in enum} for name, enum in _VOCABS.items()},
        "kind_colours": {str(k): c for k, c in KIND_COLOURS.items()},
        "fields": {"stations": _fields(StationRecord), "enterprises": _fields(EnterpriseRecord)},
        "basemap": asdict(basemap) | {"crs": basemap.crs.value},
    }


def console_html(lang: str, basemap: Basemap, root: str = "") -> str:
    """The page's shell; ``console.js`` fills it from the API. ``root``: the site's path prefix
    behind a proxy ("" at the root)."""
    assets = {"plan_css": "plan.css", "css": "console.css", "js": "console.js"}
    return render_shell("console.html", lang, STRINGS[lang], console_config(lang, basemap),
                        root, assets)  # fmt: skip
