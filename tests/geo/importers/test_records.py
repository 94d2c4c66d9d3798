"""Record validation: bad values are refused with the field and the value named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from shapely import Point, Polygon

from geo.importers.records import BoundaryRecord, EnterpriseRecord, StationRecord
from geo.vocab import Amenity, StationKind

BASE = {"source": "s", "external_id": "1", "kind": "rest_point", "name": "驿站",
        "lon": 116.3, "lat": 39.9}  # fmt: skip


def _error(model, values) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(values)
    return str(caught.value)


def test_chinese_labels_and_cell_lists_are_understood():
    record = StationRecord.model_validate(
        {**BASE, "kind": "暖心驿站", "amenities": "热水;微波炉、热水", "services": ["法律援助"]}
    )
    assert record.kind is StationKind.REST_POINT
    assert record.amenities == [Amenity.HOT_WATER, Amenity.MICROWAVE]  # duplicate dropped
    assert [str(s) for s in record.services] == ["legal_aid"]


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        ({"lon": 200}, "lon", "200"),
        ({"lat": -95}, "lat", "-95"),
        ({"kind": "teahouse"}, "kind", "teahouse"),
        ({"amenities": ["hot_water", "sauna"]}, "amenities", "sauna"),
        ({"opening_hours": "whenever"}, "opening_hours", "whenever"),
        ({"colour": "red"}, "colour", "red"),
        ({"seats": -2}, "seats", "-2"),
        ({"last_verified_at": "2026-10-15T10:00:00"}, "last_verified_at", "UTC offset"),
    ],
)
def test_bad_values_name_field_and_value(change, field, value):
    message = _error(StationRecord, {**BASE, **change})
    assert field in message
    assert value in message


def test_closed_before_opened_is_refused():
    message = _error(StationRecord, {**BASE, "opened_on": "2026-05-01", "closed_on": "2026-01-01"})
    assert "closed_on must not be before opened_on" in message


def test_blank_optional_text_becomes_null():
    record = StationRecord.model_validate({**BASE, "address": "  ", "opening_hours": ""})
    assert record.address is None
    assert record.opening_hours is None


def test_enterprise_outdoor_workers_cannot_exceed_employees():
    message = _error(EnterpriseRecord, {"source": "s", "external_id": "e", "name": "公司",
                                        "lon": 116.3, "lat": 39.9, "employees": 5,
                                        "outdoor_workers": 6})  # fmt: skip
    assert "outdoor_workers must not exceed employees" in message


def _boundary(**change):
    square = Polygon([(116, 39), (117, 39), (117, 40), (116, 40)])
    values = {"code": "110106017000", "name": "卢沟桥街道", "level": "街道/乡镇",
              "vintage": "v", "geometry": square}  # fmt: skip
    return {**values, **change}


def test_boundary_needs_valid_polygons_and_codes():
    ok = BoundaryRecord.model_validate(_boundary())
    assert ok.geometry.geom_type == "MultiPolygon"
    assert str(ok.level) == "subdistrict"
    bow_tie = Polygon([(116, 39), (117, 40), (117, 39), (116, 40)])
    assert "invalid" in _error(BoundaryRecord, _boundary(geometry=bow_tie))
    assert "code" in _error(BoundaryRecord, _boundary(code="1101"))
    assert "Point" in _error(BoundaryRecord, _boundary(geometry=Point(116, 39)))
