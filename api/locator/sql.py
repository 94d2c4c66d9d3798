"""The locator's SQL: a KNN shortlist first, the whole radius only when that is not enough.

Both statements return the same columns (see :data:`COLUMNS`), distances in true metres
(geography). The KNN statement orders by ``<->`` (planar degrees, from the GiST index) and
also returns each row's degree distance, from which :func:`complete_within` derives how far
the shortlist is provably complete in metres: the caller re-ranks by true metres and accepts
the answer only when every result lies inside that distance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from geo.locator.rules import Candidate

SHORTLIST = 200  # the most candidates the whole-radius query returns, nearest metres first
KNN_SHORTLIST = 40  # first query: the 40 nearest by degrees, usually final for k <= 10
METRES_PER_DEGREE = 111_319.0  # one degree of the equator (a = 6,378,137 m): a lower bound
MERIDIAN_MIN_M_PER_DEGREE = 110_574.0  # one degree of latitude at the equator (the shortest)
SAFETY = 0.99  # 1 % for the planar approximation of short geodesics (as in the envelope)

COLUMNS = (
    "id", "name", "kind", "lon", "lat", "distance_m", "amenities", "opening_hours",
    "last_verified_at", "address", "phone", "host_type", "host_name", "boundary_code",
    "boundary_name",
)  # fmt: skip
_FIELDS = len(Candidate._fields)


def candidate_of(row: Sequence[Any]) -> Candidate:
    """A row of these statements: its first columns are the candidate's fields, in order."""
    return Candidate._make(row[:_FIELDS])


# The shortlist is chosen in a subquery and only its rows look their boundary up (by key):
# the planner cannot estimate the filters and would otherwise join every station in the box
# first, or hash all boundaries for forty rows.
_SHORTLIST = """
SELECT c.id, c.name, c.kind, c.lon, c.lat, c.distance_m, c.amenities, c.opening_hours,
       c.last_verified_at, c.address, c.phone, c.host_type, c.host_name,
       b.code AS boundary_code, b.name AS boundary_name{extra}
  FROM (
    SELECT s.id, s.name, s.kind, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
           ST_Distance(s.geom::geography, here.pt::geography) AS distance_m, s.amenities,
           s.opening_hours, s.last_verified_at, s.address, s.phone, s.host_type, s.host_name,
           s.boundary_id, s.geom <-> here.pt AS degrees
      FROM stations AS s
      CROSS JOIN (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS pt) AS here
     WHERE s.status = 'open' AND s.deleted_at IS NULL
       AND s.geom && ST_MakeEnvelope($3, $4, $5, $6, 4326)
       AND s.kind = ANY($7)
       AND ($8::text[] IS NULL OR s.amenities @> $8)
       AND NOT coalesce(s.opening_hours = ANY({hours}::text[]), false)
       AND (s.opening_hours IS NOT NULL OR NOT {no_hours}::boolean){where}
     ORDER BY {order}
     LIMIT {limit}
  ) AS c
  LEFT JOIN LATERAL (SELECT code, name FROM boundaries WHERE id = c.boundary_id
                     OFFSET 0) AS b ON true
 ORDER BY {outer}
"""

# Every match within $9 metres, nearest metres first, at most $10 of them. In both statements
# the last two parameters leave places out by their hours (api.locator.route.HoursOut): those whose
# hours are in the list, and those without hours if the flag says so (none: '{}', false).
CANDIDATES_SQL = _SHORTLIST.format(
    extra="",
    hours="$11",
    no_hours="$12",
    where="\n       AND ST_DWithin(s.geom::geography, here.pt::geography, $9)",
    order="distance_m, s.id",
    limit="$10",
    outer="c.distance_m, c.id",
)
# The $9 nearest by degrees in the box (the GiST index walks them in that order, so every
# place nearer in degrees than the last row is here), with that degree distance last. The
# radius is applied by the caller: a filter the planner cannot estimate would make it sort
# the whole box instead.
KNN_SQL = _SHORTLIST.format(
    extra=", c.degrees",
    hours="$10",
    no_hours="$11",
    where="",
    order="s.geom <-> here.pt",
    limit="$9",
    outer="c.degrees",
)

# Nothing within reach: how far is the nearest matching place, and is the point in our area?
# The KNN shortlist (degrees) is re-ranked by true metres, so the answer is the true nearest
# unless it lies beyond the 50 nearest by degrees, which needs a ratio of axes far above 1/0.77.
FALLBACK_SQL = """
WITH here AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS pt),
near AS (
  SELECT s.geom FROM stations AS s, here
   WHERE s.status = 'open' AND s.deleted_at IS NULL AND s.kind = ANY($3)
     AND ($4::text[] IS NULL OR s.amenities @> $4)
   ORDER BY s.geom <-> here.pt LIMIT 50
)
SELECT (SELECT min(ST_Distance(near.geom::geography, here.pt::geography)) FROM near, here)
         AS nearest_m,
       EXISTS (SELECT 1 FROM boundaries AS b, here
                WHERE b.valid_to IS NULL AND ST_Covers(b.geom, here.pt)) AS in_area
"""


def envelope(lon: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box certainly containing the circle (1 % margin over the ellipsoid's radii)."""
    dlat = metres / 110_574 * 1.01
    dlon = metres / (111_320 * max(math.cos(math.radians(lat)), 0.01)) * 1.01
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def complete_within(lat: float, degrees: Sequence[float], limit: int, radius_m: float) -> float:
    """Metres within which a KNN shortlist holds every match, given its rows' degree distances.

    Fewer rows than ``limit``: every match within ``radius_m`` came back. Otherwise every
    place nearer than the last row in degrees is in, and a place ``m`` metres away is at most
    ``m / (metres per degree, shortest axis)`` degrees away, so every place nearer than
    ``last degrees x that`` metres is in. The shortest axis is the parallel at the highest
    latitude the shortlist can reach (less 1 %); strictly nearer: a tie may be cut.
    """
    if len(degrees) < limit:
        return radius_m
    last = degrees[-1]
    top = min(abs(lat) + last, 89.0)
    per_degree = min(METRES_PER_DEGREE * math.cos(math.radians(top)), MERIDIAN_MIN_M_PER_DEGREE)
    return min(last * per_degree * SAFETY, radius_m)
