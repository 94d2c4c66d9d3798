"""Controlled vocabularies shared by the schema, importers and API.

Values are stable ASCII codes (stored in the database and used in URLs); each carries its
Chinese and English label so imports can accept either and pages can show either. The database
enforces the same lists with CHECK constraints, so adding a value needs a migration.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar


class StationKind(StrEnum):
    """What a place is. One table holds them all because the locator searches them together."""

    SERVICE_CENTRE = "service_centre"
    SUBDISTRICT_STATION = "subdistrict_station"
    COMMUNITY_UNION = "community_union"
    ENTERPRISE_CENTRE = "enterprise_centre"
    REST_POINT = "rest_point"
    WATER_POINT = "water_point"
    SANITATION_CARE_POINT = "sanitation_care_point"
    COUNSELLING_POINT = "counselling_point"


class StationStatus(StrEnum):
    """Lifecycle: only ``open`` stations serve anyone today; ``planned`` ones feed what-if runs."""

    PLANNED = "planned"
    UNDER_CONSTRUCTION = "under_construction"
    OPEN = "open"
    TEMPORARILY_CLOSED = "temporarily_closed"
    CLOSED = "closed"


class HostType(StrEnum):
    """Who runs the place: union stations, but also enterprises opening their staff rooms."""

    UNION = "union"
    ENTERPRISE = "enterprise"
    GOVERNMENT = "government"
    OTHER = "other"


class Amenity(StrEnum):
    """What an outdoor worker can use there."""

    DRINKING_WATER = "drinking_water"
    HOT_WATER = "hot_water"
    MICROWAVE = "microwave"
    FRIDGE = "fridge"
    PHONE_CHARGING = "phone_charging"
    EBIKE_CHARGING = "ebike_charging"
    SEATING = "seating"
    TOILET = "toilet"
    FIRST_AID = "first_aid"
    MEDICINE = "medicine"
    AIR_CONDITIONING = "air_conditioning"
    HEATING = "heating"
    WIFI = "wifi"
    BOOKS = "books"
    HAIRCUT = "haircut"
    PARKING = "parking"
    STEP_FREE_ACCESS = "step_free_access"


class Service(StrEnum):
    """What the union offers there (mostly at stations rather than rest points)."""

    LEGAL_AID = "legal_aid"
    DISPUTE_MEDIATION = "dispute_mediation"
    COUNSELLING = "counselling"
    INSURANCE_CLAIMS = "insurance_claims"
    WAGE_NEGOTIATION = "wage_negotiation"
    HARDSHIP_ASSISTANCE = "hardship_assistance"
    CHILDCARE = "childcare"
    SKILLS_TRAINING = "skills_training"
    READING_ROOM = "reading_room"
    RECREATION = "recreation"


class Access(StrEnum):
    """How a worker gets in. Code locks that want a member's QR code or a registered face turn
    away exactly the passing workers a rest point is for, so the locator says which it is."""

    OPEN_DOOR = "open_door"
    RING = "ring"
    ID_CARD = "id_card"
    MEMBER_QR = "member_qr"
    UNION_CARD = "union_card"
    FACE_REGISTRATION = "face_registration"


ACCESS_CONDITION_MAX = 200  # characters: "仅限已登记的外卖骑手，夜间需按铃" fits many times over
# Ways in that need nothing arranged beforehand: no membership, no sign-up.
WALK_IN_ACCESS = frozenset({Access.OPEN_DOOR, Access.RING, Access.ID_CARD})


def walk_in(access: Sequence[str], condition: str | None) -> bool | None:
    """Whether anyone may walk in without registering: some way in needs no sign-up and no
    condition limits who (``access_condition`` says who, e.g. "registered riders only").
    ``None``: how to get in is not recorded, which is not promised either way."""
    if not access:
        return None
    # strip(" ") as the database's btrim does: the same text is blank (or not) in both places
    return not (condition and condition.strip(" ")) and any(a in WALK_IN_ACCESS for a in access)


def walk_in_sql(table: str) -> str:
    """:func:`walk_in` as a SQL condition on ``table``'s columns (true only where it is true;
    the database keeps a condition non-blank, so ``IS NULL`` is the same test)."""
    listed = ", ".join(f"'{a}'" for a in sorted(WALK_IN_ACCESS))
    return f"({table}.access && ARRAY[{listed}]::text[] AND {table}.access_condition IS NULL)"


class BoundaryLevel(StrEnum):
    CITY = "city"
    DISTRICT = "district"
    SUBDISTRICT = "subdistrict"
    COMMUNITY = "community"


class UnionStatus(StrEnum):
    """Whether an enterprise has set up a union (已建会 / 未建会)."""

    UNIONISED = "unionised"
    NOT_UNIONISED = "not_unionised"


LABELS_ZH: dict[StrEnum, str] = {
    StationKind.SERVICE_CENTRE: "职工服务中心",
    StationKind.SUBDISTRICT_STATION: "街道/乡镇工会服务站",
    StationKind.COMMUNITY_UNION: "社区联合工会",
    StationKind.ENTERPRISE_CENTRE: "企业职工服务中心",
    StationKind.REST_POINT: "暖心驿站",
    StationKind.WATER_POINT: "免费饮水点",
    StationKind.SANITATION_CARE_POINT: "环卫工人爱心服务点",
    StationKind.COUNSELLING_POINT: "心灵驿站",
    StationStatus.PLANNED: "规划中",
    StationStatus.UNDER_CONSTRUCTION: "建设中",
    StationStatus.OPEN: "开放",
    StationStatus.TEMPORARILY_CLOSED: "暂停开放",
    StationStatus.CLOSED: "已关闭",
    HostType.UNION: "工会",
    HostType.ENTERPRISE: "企业",
    HostType.GOVERNMENT: "政府机关",
    HostType.OTHER: "其他",
    Amenity.DRINKING_WATER: "饮用水",
    Amenity.HOT_WATER: "热水",
    Amenity.MICROWAVE: "微波炉",
    Amenity.FRIDGE: "冰箱",
    Amenity.PHONE_CHARGING: "手机充电",
    Amenity.EBIKE_CHARGING: "电动车充电",
    Amenity.SEATING: "座椅",
    Amenity.TOILET: "卫生间",
    Amenity.FIRST_AID: "急救",
    Amenity.MEDICINE: "常用药品",
    Amenity.AIR_CONDITIONING: "空调",
    Amenity.HEATING: "暖气",
    Amenity.WIFI: "无线网络",
    Amenity.BOOKS: "图书",
    Amenity.HAIRCUT: "理发",
    Amenity.PARKING: "停车",
    Amenity.STEP_FREE_ACCESS: "无障碍通道",
    Service.LEGAL_AID: "法律援助",
    Service.DISPUTE_MEDIATION: "劳动争议调解",
    Service.COUNSELLING: "心理咨询",
    Service.INSURANCE_CLAIMS: "互助保险理赔",
    Service.WAGE_NEGOTIATION: "工资集体协商指导",
    Service.HARDSHIP_ASSISTANCE: "困难职工帮扶",
    Service.CHILDCARE: "托管服务",
    Service.SKILLS_TRAINING: "技能培训",
    Service.READING_ROOM: "职工书屋",
    Service.RECREATION: "文体活动",
    Access.OPEN_DOOR: "直接进入",
    Access.RING: "按铃/敲门",
    Access.ID_CARD: "出示身份证",
    Access.MEMBER_QR: "扫会员码",
    Access.UNION_CARD: "凭工会会员卡",
    Access.FACE_REGISTRATION: "人脸识别（需登记）",
    BoundaryLevel.CITY: "市",
    BoundaryLevel.DISTRICT: "区",
    BoundaryLevel.SUBDISTRICT: "街道/乡镇",
    BoundaryLevel.COMMUNITY: "社区",
    UnionStatus.UNIONISED: "已建会",
    UnionStatus.NOT_UNIONISED: "未建会",
}


def values(enum: type[StrEnum]) -> list[str]:
    """The stored codes of a vocabulary, in declaration order (for CHECK constraints and docs)."""
    return [member.value for member in enum]


E = TypeVar("E", bound=StrEnum)


def parse_member(enum: type[E], raw: str) -> E:
    """Accept a code (``hot_water``) or its Chinese label (``热水``); else ``ValueError``."""
    text = raw.strip()
    for member in enum:
        if text in (member.value, LABELS_ZH.get(member)):
            return member
    raise ValueError(f"unknown {enum.__name__} {raw!r}")
