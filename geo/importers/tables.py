"""Read CSV and XLSX sheets with Chinese or English headers into raw rows.

Unions keep their points in spreadsheets: headers such as 名称, 地址, 经度, 纬度, 类型, 设施,
开放时间. Each header is mapped to a record field through ``HEADER_ALIASES`` (or a caller's
mapping); a header that maps to nothing refuses the whole file before anything is read, so no
column is silently dropped. Rows keep the line number a person sees in the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from geo.errors import InvalidInputError
from geo.importers._validate import SourceRow

# Record field -> the headers that mean it (compared case- and space-insensitively).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "id", "编号", "编码", "站点编号", "企业编号"),
    "source": ("source", "来源", "数据来源"),
    "name": ("name", "名称", "站点名称", "驿站名称", "企业名称", "单位名称"),
    "kind": ("kind", "type", "类型", "站点类型"),
    "address": ("address", "地址", "详细地址"),
    "phone": ("phone", "电话", "联系电话", "服务电话"),
    "lon": ("lon", "lng", "longitude", "x", "经度"),
    "lat": ("lat", "latitude", "y", "纬度"),
    "host_type": ("host_type", "主办类型", "依托类型"),
    "host_name": ("host_name", "主办单位", "依托单位"),
    "status": ("status", "状态", "运行状态"),
    "opened_on": ("opened_on", "开放日期", "启用日期"),
    "closed_on": ("closed_on", "关闭日期"),
    "amenities": ("amenities", "设施", "服务设施"),
    "services": ("services", "服务", "服务项目"),
    "opening_hours": ("opening_hours", "hours", "开放时间", "营业时间"),
    "access": ("access", "entry", "进入方式", "入站方式", "如何进入"),
    "access_condition": ("access_condition", "进入条件", "准入条件", "开放对象"),
    "floor_area_m2": ("floor_area_m2", "面积", "面积(m2)", "面积（㎡）", "建筑面积"),
    "seats": ("seats", "座位", "座位数"),
    "last_verified_at": ("last_verified_at", "核实时间", "最近核实"),
    "source_crs": ("source_crs", "原始坐标系"),
    # The row's own system, which its lon/lat are converted from (``source_crs`` is only the
    # provenance our exports write, never a reason to convert again).
    "coord_system": ("coord_system", "coordsys", "coordinate_system", "坐标系", "坐标类型"),
    "employees": ("employees", "职工人数", "员工人数"),
    "outdoor_workers": ("outdoor_workers", "户外劳动者人数", "户外职工人数"),
    "union_status": ("union_status", "建会情况", "是否建会"),
    "industry": ("industry", "行业"),
    "registration_code": ("registration_code", "注册地街道代码", "登记街道编码"),
}
IGNORE = ""  # map a header to this to skip the column on purpose
ENCODINGS = ("utf-8-sig", "gb18030")  # Excel in China saves CSV as GBK by default


def _norm(header: str) -> str:
    return "".join(header.split()).lower()


_ALIAS_INDEX = {_norm(alias): field for field, aliases in HEADER_ALIASES.items()
                for alias in aliases}  # fmt: skip


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``header=field`` pairs (``header=`` drops the column): the CLI's ``--map`` and the
    upload API's ``map``."""
    mapping = {}
    for pair in pairs:
        header, sep, field = pair.partition("=")
        if not sep or not header.strip():
            raise InvalidInputError(
                f"map takes 'header=field' (or 'header=' to ignore), got {pair!r}", field="map"
            )
        mapping[header.strip()] = field.strip()
    return mapping


def map_headers(headers: Iterable[str], extra: Mapping[str, str] | None = None) -> list[str]:
    """Field name for each header (``IGNORE`` to skip); raise naming every unknown header."""
    explicit = {_norm(k): v for k, v in (extra or {}).items()}
    fields, unknown = [], []
    for header in headers:
        key = _norm(header or "")
        field = explicit.get(key, _ALIAS_INDEX.get(key))
        if field is None:
            unknown.append(header)
            field = IGNORE
        fields.append(field)
    if unknown:
        raise InvalidInputError(
            f"unknown column(s) {unknown}: map them with --map 'header=field' "
            f"(or --map 'header=' to ignore); known fields: {sorted(HEADER_ALIASES)}",
            field="columns",
        )
    mapped = [f for f in fields if f]
    duplicated = sorted({f for f in mapped if mapped.count(f) > 1})
    if duplicated:
        raise InvalidInputError(f"several columns map to {duplicated}", field="columns")
    return fields


def decode_text(path: Path) -> str:
    """A CSV file's text: UTF-8 (with or without BOM), else GB18030 (Excel in China)."""
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInputError(f"{path.name}: neither UTF-8 nor GB18030 text")


def read_csv(path: Path, mapping: Mapping[str, str] | None = None) -> list[SourceRow]:
    """Rows of a CSV file (``,`` ``;`` or tab separated); location is the line number."""
    text = decode_text(path)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        headers = next(reader)
    except StopIteration as exc:
        raise InvalidInputError(f"{path.name}: the file is empty") from exc
    fields = map_headers(headers, mapping)
    rows = []
    previous_end = reader.line_num
    for cells in reader:
        line, previous_end = previous_end + 1, reader.line_num  # a quoted cell may span lines
        if any(cell.strip() for cell in cells):
            rows.append(SourceRow(f"line {line}", _values(fields, cells, len(headers))))
    return rows


def read_xlsx(path: Path, mapping: Mapping[str, str] | None = None) -> list[SourceRow]:
    """Rows of the first sheet of an XLSX workbook; location is the sheet row number."""
    from openpyxl import load_workbook  # only importers of spreadsheets pay for it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InvalidInputError(f"{path.name}: not a readable XLSX workbook") from exc
    try:
        sheet = workbook.worksheets[0]
        lines: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
        headers = [str(h) if h is not None else "" for h in next(lines, ())]
        if not headers:
            raise InvalidInputError(f"{path.name}: the first sheet is empty")
        fields = map_headers(headers, mapping)
        rows = []
        for number, cells in enumerate(lines, start=2):
            if all(c is None or str(c).strip() == "" for c in cells):
                continue
            rows.append(SourceRow(f"row {number}", _values(fields, list(cells), len(headers))))
        return rows
    finally:
        workbook.close()


def _values(fields: list[str], cells: list[Any], width: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, cell in zip(fields, cells, strict=False):
        if field and cell is not None and str(cell).strip() != "":
            values[field] = cell.strip() if isinstance(cell, str) else cell
    if len(cells) > width and any(str(c).strip() for c in cells[width:] if c is not None):
        values["__extra_cells__"] = len(cells) - width  # refused by the record as unknown
    return values
