"""Spreadsheet reading: Chinese headers, GBK files, true line numbers, unknown columns refused."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from geo.errors import InvalidInputError
from geo.importers.tables import map_headers, read_csv, read_xlsx

HEADER = "编号,名称,类型,经度,纬度,设施,开放时间\n"


def test_chinese_headers_map_to_fields():
    assert map_headers(["名称", " 经度 ", "LAT", "开放时间", "设施"]) == [
        "name", "lon", "lat", "opening_hours", "amenities"
    ]  # fmt: skip


def test_unknown_header_refuses_the_file_and_names_it():
    with pytest.raises(InvalidInputError, match=r"unknown column\(s\) \['颜色'\]"):
        map_headers(["名称", "颜色"])
    assert map_headers(["名称", "颜色"], {"颜色": ""}) == ["name", ""]
    assert map_headers(["名称", "站名2"], {"站名2": "host_name"}) == ["name", "host_name"]


def test_two_columns_for_one_field_are_refused():
    with pytest.raises(InvalidInputError, match="several columns map to"):
        map_headers(["名称", "name"])


def test_line_numbers_count_physical_lines_and_skip_blank_rows(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text(
        HEADER
        + 'a1,"多行\n名称",暖心驿站,116.3,39.9,热水,24/7\n'  # a quoted cell over two lines
        + ",,,,,,\n"  # blank row: skipped, still counted
        + "a2,饮水点,免费饮水点,116.31,39.91,饮用水,\n",
        encoding="utf-8",
    )
    rows = read_csv(path)
    assert [r.location for r in rows] == ["line 2", "line 5"]
    assert rows[0].values["name"] == "多行\n名称"
    assert "opening_hours" not in rows[1].values  # empty cells are absent, not ""


def test_gbk_file_from_excel_is_read(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "b1,环卫驿站,暖心驿站,116.3,39.9,热水;微波炉,24/7\n").encode("gbk"))
    [row] = read_csv(path)
    assert row.values["name"] == "环卫驿站"
    assert row.values["amenities"] == "热水;微波炉"


def test_semicolon_separated_file_is_sniffed(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("名称;经度;纬度\n驿站;116.3;39.9\n", encoding="utf-8")
    assert read_csv(path)[0].values == {"name": "驿站", "lon": "116.3", "lat": "39.9"}


def test_xlsx_rows_keep_sheet_row_numbers(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["名称", "经度", "纬度", "座位数"])
    sheet.append(["驿站甲", 116.3, 39.9, 8])
    sheet.append([None, None, None, None])
    sheet.append(["驿站乙", 116.31, 39.91, None])
    path = tmp_path / "points.xlsx"
    workbook.save(path)
    rows = read_xlsx(path)
    assert [r.location for r in rows] == ["row 2", "row 4"]
    assert rows[0].values == {"name": "驿站甲", "lon": 116.3, "lat": 39.9, "seats": 8}


def test_broken_workbook_and_empty_csv_are_clear_errors(tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match="not a readable XLSX"):
        read_xlsx(broken)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="empty"):
        read_csv(empty)
