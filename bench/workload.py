"""Seeded workloads shared by benchmarks and tests: a 10,000-row GCJ-02 station sheet.

Rows lie in Beijing's urban districts; a fixed share is deliberately bad, one kind of mistake
per row, so an import must keep the good ones and report each bad one with its line.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from geo.crs import wgs84_to_gcj02

HEADER = ["编号", "名称", "类型", "地址", "经度", "纬度", "设施", "开放时间", "座位数"]
KINDS = ["暖心驿站", "免费饮水点", "环卫工人爱心服务点", "街道/乡镇工会服务站"]
AMENITIES = ["热水", "饮用水", "微波炉", "手机充电", "座椅", "卫生间", "空调"]
HOURS = ["24/7", "Mo-Fr 08:30-17:30", "Mo-Sa 09:00-20:00", "Mo-Su 06:00-22:00"]
MISTAKES = [
    ("经度", "200.5", "lon out of range"),
    ("类型", "茶馆", "unknown kind"),
    ("设施", "桑拿", "unknown amenity"),
    ("开放时间", "随时", "bad opening hours"),
    ("座位数", "-3", "negative seats"),
    ("swap", "", "lat/lon swapped"),
]


def write_station_sheet(
    path: Path, rows: int = 10_000, bad_share: float = 0.05, seed: int = 20261122
) -> tuple[dict[int, str], dict[str, tuple[float, float]]]:
    """Write the sheet; return {line: mistake} for bad rows and {id: (lon, lat) WGS-84} for good."""
    rng = random.Random(seed)
    bad_lines: dict[int, str] = {}
    truth: dict[str, tuple[float, float]] = {}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            lon, lat = rng.uniform(116.20, 116.55), rng.uniform(39.78, 40.02)
            glon, glat = wgs84_to_gcj02(lon, lat)
            row = {
                "编号": f"bj-{i:05d}", "名称": f"示例驿站{i:05d}", "类型": rng.choice(KINDS),
                "地址": f"北京市示例路{i}号", "经度": f"{glon:.7f}", "纬度": f"{glat:.7f}",
                "设施": ";".join(rng.sample(AMENITIES, 3)), "开放时间": rng.choice(HOURS),
                "座位数": str(rng.randint(2, 20)),
            }  # fmt: skip
            line = i + 2
            if rng.random() < bad_share:
                column, value, mistake = MISTAKES[i % len(MISTAKES)]
                if column == "swap":
                    row["经度"], row["纬度"] = row["纬度"], row["经度"]
                else:
                    row[column] = value
                bad_lines[line] = mistake
            else:
                truth[row["编号"]] = (lon, lat)
            writer.writerow([row[h] for h in HEADER])
    return bad_lines, truth
