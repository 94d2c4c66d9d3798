"""The locator on foot: candidates re-ranked by metres walked along the loaded street network.

A walk is never shorter than the straight line, so every place within ``metres`` on foot is
among the places within ``metres`` as the crow flies: those are fetched (nearest first), walked
to in one bounded Dijkstra (:class:`geo.network.router.WalkRouter`), and the ones beyond
``metres`` on foot dropped. When the straight-line list was cut at its row limit, the answer
stands only if every result ranks nearer than the last place fetched (anything not fetched is
at least that far on foot); otherwise the list is fetched again without the cut.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

import numpy as np

from geo.locator.rules import Candidate, Located, Rank, rank_key
from geo.network.router import WalkRouter

WALK_SHORTLIST = 2_000  # places fetched by straight line before walking to them
WALK_SHORTLIST_MAX = 50_000  # the refetch when the first cut could hide a nearer walk
# Every matching place within the radius as the crow flies, nearest first, at most this many
# (from the in-memory stations or PostGIS: see api.locator.route).
Within = Callable[[int], Awaitable[list[Candidate]]]


def walked(router: WalkRouter, lon: float, lat: float, candidates: list[Candidate],
           metres: float) -> list[Candidate] | None:  # fmt: skip
    """``candidates`` with walked metres, nearest first; ``None``: the point is off-network."""
    if not candidates:
        return []
    lons = np.fromiter((c.lon for c in candidates), float, len(candidates))
    lats = np.fromiter((c.lat for c in candidates), float, len(candidates))
    metres_on_foot = router.walk_metres(lon, lat, lons, lats, metres)
    if metres_on_foot is None:
        return None
    pairs = zip(candidates, metres_on_foot, strict=True)
    kept = [c._replace(distance_m=float(m)) for c, m in pairs if math.isfinite(m)]
    return sorted(kept, key=lambda c: (c.distance_m, c.id))


async def search_on_foot(
    fetch: Within,
    router: WalkRouter,
    lon: float,
    lat: float,
    metres: float,
    k: int,
    rank: Rank,
) -> tuple[list[Candidate], list[Located]] | None:
    """Candidates by walked metres and the ranked answer; ``None`` when off the network."""
    for limit in (WALK_SHORTLIST, WALK_SHORTLIST_MAX):
        straight = await fetch(limit)
        on_foot = await asyncio.to_thread(walked, router, lon, lat, straight, metres)
        if on_foot is None:
            return None
        found = rank(on_foot)
        if (
            limit == WALK_SHORTLIST_MAX
            or len(straight) < limit
            or (len(found) == k and max(rank_key(f) for f in found) <= straight[-1].distance_m)
        ):
            return on_foot, found
    raise AssertionError("the last shortlist always answers")
