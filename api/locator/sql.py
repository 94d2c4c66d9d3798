"""PostGIS as a place source of the locator's search (:mod:`geo.locator.search`).

:class:`PostgisSource` answers the search's two questions with two statements returning the
same columns (see :data:`COLUMNS`), distances in true metres (geography). The KNN statement
orders by ``<->`` (planar degrees, from the GiST index) and also returns each row's degree
distance, from which the search derives how far the shortlist is provably complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from geo.locator.rules import Candidate, Located, Rank
from geo.locator.search import Area, Shortlist
from geo.vocab import walk_in_sql

COLUMNS = (
    "id", "name", "kind", "lon", "lat", "distance_m", "amenities", "opening_hours",
    "last_verified_at", "address", "phone", "host_type", "host_name", "boundary_code",
    "boundary_name", "access", "access_condition",
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
       b.code AS boundary_code, b.name AS boundary_name, c.access, c.access_condition{extra}
  FROM (
    SELECT s.id, s.name, s.kind, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
           ST_Distance(s.geom::geography, here.pt::geography) AS distance_m, s.amenities,
           s.opening_hours, s.last_verified_at, s.address, s.phone, s.host_type, s.host_name,
           s.boundary_id, s.access, s.access_condition, s.geom <-> here.pt AS degrees
      FROM stations AS s
      CROSS JOIN (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS pt) AS here
     WHERE s.status = 'open' AND s.deleted_at IS NULL
       AND s.geom && ST_MakeEnvelope($3, $4, $5, $6, 4326)
       AND s.kind = ANY($7)
       AND ($8::text[] IS NULL OR s.amenities @> $8)
       AND NOT coalesce(s.opening_hours = ANY({hours}::text[]), false)
       AND (s.opening_hours IS NOT NULL OR NOT {no_hours}::boolean)
       AND (NOT {walk_in}::boolean OR {walk_in_sql}){where}
     ORDER BY {order}
     LIMIT {limit}
  ) AS c
  LEFT JOIN LATERAL (SELECT code, name FROM boundaries WHERE id = c.boundary_id
                     OFFSET 0) AS b ON true
 ORDER BY {outer}
"""

# Every match within $9 metres, nearest metres first, at most $10 of them. In both statements
# the last two parameters leave places out by their hours (:data:`LeftOut`): those whose
# hours are in the list, and those without hours if the flag says so (none: '{}', false).
CANDIDATES_SQL = _SHORTLIST.format(
    extra="",
    hours="$11",
    no_hours="$12",
    walk_in="$13",
    walk_in_sql=walk_in_sql("s"),
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
    walk_in="$12",
    walk_in_sql=walk_in_sql("s"),
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
     AND (NOT $5::boolean OR {walk_in})
   ORDER BY s.geom <-> here.pt LIMIT 50
)
SELECT (SELECT min(ST_Distance(near.geom::geography, here.pt::geography)) FROM near, here)
         AS nearest_m,
       EXISTS (SELECT 1 FROM boundaries AS b, here
                WHERE b.valid_to IS NULL AND ST_Covers(b.geom, here.pt)) AS in_area
""".replace("{walk_in}", walk_in_sql("s"))


LeftOut = tuple[list[str], bool]  # hours texts a search leaves out, and whether "no hours"
_KEEP_ALL: LeftOut = ([], False)


class PostgisSource:
    """The open stations in PostGIS, through one connection, for one :class:`Area`; ``out``:
    the hours (and whether no hours) it leaves out, as judged from the newest snapshot."""

    def __init__(self, conn: asyncpg.Connection, area: Area, out: LeftOut | None = None) -> None:
        self.area, self.filters_hours = area, out is not None
        self._conn, self._out = conn, out or _KEEP_ALL

    async def shortlist(self, count: int) -> Shortlist[list[Candidate]]:
        a = self.area
        rows = await self._conn.fetch(KNN_SQL, a.lon, a.lat, *a.box, a.kinds, a.needs, count,
                                      *self._out, a.walk_in)  # fmt: skip
        near = [candidate_of(r) for r in rows if r[5] <= a.metres]  # r[5]: distance_m
        return Shortlist(near, len(rows), [r[-1] for r in rows])

    async def within(self, limit: int, *, every: bool = False) -> list[Candidate]:
        a = self.area
        out = _KEEP_ALL if every else self._out
        rows = await self._conn.fetch(CANDIDATES_SQL, a.lon, a.lat, *a.box, a.kinds, a.needs,
                                      a.metres, limit, *out, a.walk_in)  # fmt: skip
        return [candidate_of(r) for r in rows]

    def ranked(self, hits: list[Candidate], rank: Rank) -> list[Located]:
        return rank(hits)

    def candidates(self, hits: list[Candidate]) -> list[Candidate]:
        return list(hits)
