"""Siting at provincial and national scale: parts built on Dask, one budget, a proven gap.

1. **Build** on the coverage run's partitions (:func:`geo.national.partition.plan_partitions`):
   each part is a task computing its candidates and the uncovered cells they reach, halo
   included (:mod:`geo.national.siting_parts`). Merged by H3 id they are the whole scope's
   problem — the same matrix however the country was cut.
2. **Split** that problem into its connected components (sites sharing no resident), packed
   into ``groups`` balanced tasks. Nothing couples the groups but the budget ``Σ sites ≤ p``.
3. **Price** the budget (Lagrangian relaxation): at ``λ`` residents per site every group opens
   the sites worth more than ``λ`` — one HiGHS MIP per group, in parallel — and ``λ`` is
   bisected until the groups together open ``p``.

**The bound.** For every ``λ ≥ 0``, ``OPT ≤ λ·p + Σ_g Z_g(λ)``, ``Z_g`` being group ``g``'s
priced optimum (HiGHS's dual bound stands in for it when a solve stops at its time limit):
the groups share no resident, so this is the textbook dual bound and only integrality
separates it from the optimum. **The answer** is the groups' sites at the last price opening
at most ``p``, topped up to ``p`` with the best greedy additions, counted on the whole
problem. ``gap = (bound − answer) / answer`` is proven: the answer is a real set of ``p``
sites, the bound holds for any set.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from geo.national.counties import NationalDemand
from geo.national.engine import DEFAULT_MAX_CELLS, Stations
from geo.national.partition import Partition, halo, part_bounds, plan_partitions
from geo.national.siting_parts import EMPTY_INTS, PartProblem, SitingParams, build_part
from geo.national.sphere import lon_lat_margin
from geo.siting.decompose import parts as components
from geo.siting.greedy import greedy
from geo.siting.mip import solve_priced
from geo.siting.problem import CoverProblem, Floats, Ints, marginal_gains, rank_by_gain

Box = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
PRICE_TOLERANCE = 1e-4  # the price bracket's width, relative to its top
DEFAULT_GROUPS = 64  # solve tasks; fixed, not from the worker count, so answers never vary


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class InlineClient:
    """The single-process engine: each task runs at once, here, through the same coordinator."""

    def submit(self, function: Callable[..., Any], *args: Any, key: str | None = None,
               pure: bool = False) -> _Done:  # fmt: skip
        return _Done(function(*[a.result() if isinstance(a, _Done) else a for a in args]))

    def scatter(self, values: list[Any]) -> list[_Done]:
        return [_Done(value) for value in values]

    def gather(self, futures: list[Any]) -> list[Any]:
        return [future.result() for future in futures]


@dataclass(frozen=True)
class ScopeProblem:
    """The whole scope's candidates × uncovered cells, merged from the parts by H3 id."""

    candidates: pd.DataFrame  # h3, lon, lat, code, gain_alone, part
    cells: pd.DataFrame  # h3, residents
    cover: CoverProblem | None


def merge_parts(problems: list[PartProblem]) -> ScopeProblem:
    """One problem from the parts': candidates have one home each; a cell two parts reach is one
    row. Candidates and cells sorted by H3 id, so the matrix does not depend on the cut."""
    frames = [problem.candidates.assign(part=problem.key) for problem in problems]
    candidates = pd.concat(frames, ignore_index=True)
    rows, cols, cell_ids, residents = [], [], [], []
    offset = 0
    for problem in problems:
        coo = sparse.coo_array(problem.reach)
        ids = problem.rows["h3"].to_numpy()
        rows.append(ids[coo.row])
        cols.append(coo.col + offset)
        cell_ids.append(ids)
        residents.append(problem.rows["residents"].to_numpy(np.float64))
        offset += len(problem.candidates)
    every_id = np.concatenate(cell_ids) if cell_ids else np.empty(0, np.uint64)
    unique, first = np.unique(every_id, return_index=True)
    cells = pd.DataFrame({"h3": unique, "residents": np.concatenate(residents)[first]
                          if len(unique) else np.empty(0)})  # fmt: skip
    order = np.argsort(candidates["h3"].to_numpy(), kind="stable")
    candidates = candidates.iloc[order].reset_index(drop=True)
    if len(candidates) == 0 or len(cells) == 0:
        return ScopeProblem(candidates, cells, None)
    column_of = np.empty(len(order), np.int64)
    column_of[order] = np.arange(len(order))
    row = np.searchsorted(unique, np.concatenate(rows))
    matrix = sparse.csr_array((np.ones(len(row)), (row, column_of[np.concatenate(cols)])),
                              shape=(len(unique), len(candidates)))  # fmt: skip
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    weight = cells["residents"].to_numpy()
    return ScopeProblem(candidates, cells, CoverProblem(matrix, weight,
                        np.zeros(len(weight), np.int64), np.ones(len(candidates))))  # fmt: skip


@dataclass(frozen=True)
class Group:
    """Whole components of the scope problem: its sites (scope column indices) and rows."""

    index: int
    sites: Ints
    cover: CoverProblem
    greedy_gains: Floats  # the lazy greedy's gains in order, up to p sites


def split_groups(problem: CoverProblem, count: int, p: int) -> tuple[list[Group], int]:
    """Connected components packed into at most ``count`` groups, heaviest first onto the
    lightest group (by matrix entries), so the tasks are about even; and how many there were."""
    found = components(problem.reach)
    load = np.zeros(min(count, len(found)))
    members: list[list[int]] = [[] for _ in load]
    for index, part in enumerate(found):
        target = int(np.argmin(load))
        load[target] += len(part.rows) * max(len(part.sites), 1)
        members[target].append(index)
    groups = []
    for g, chosen in enumerate(members):
        sites = np.sort(np.concatenate([found[i].sites for i in chosen]))
        rows = np.sort(np.concatenate([found[i].rows for i in chosen]))
        cover = CoverProblem(problem.reach[rows][:, sites], problem.weight[rows],
                             np.zeros(len(rows), np.int64), np.ones(len(sites)))  # fmt: skip
        groups.append(Group(g, sites, cover, greedy_from(cover, EMPTY_INTS, p)[1]))
    return groups, len(found)


def greedy_from(problem: CoverProblem, start: Ints, count: int) -> tuple[Ints, Floats]:
    """Up to ``count`` more sites after ``start`` by the lazy greedy, and what each adds; it
    stops early where the next site would add no one."""
    after = CoverProblem(problem.reach, problem.weight, problem.counts(start), problem.cost)
    order = greedy(after, min(count, problem.n_sites))
    gains = marginal_gains(after, order)
    useful = int(np.sum(gains > 0))  # greedy gains only shrink, so the useful ones come first
    return order[:useful], gains[:useful]


@dataclass(frozen=True)
class PricedAnswer:
    """A group's best sites at one price: ``value − price·len(sites)`` is at most ``bound``."""

    price: float
    sites: Ints  # the group's own column indices
    value: float
    bound: float  # HiGHS's upper bound on max(value − price·count)
    status: str
    seconds: float


def solve_at_price(group: Group, price: float, params: SitingParams) -> PricedAnswer:
    """The group's Lagrangian subproblem, warm-started by the greedy sites worth their price."""
    cover = group.cover
    worth = int(np.sum(group.greedy_gains > price))
    order = greedy_from(cover, EMPTY_INTS, worth)[0] if worth else EMPTY_INTS
    outcome = solve_priced(cover, price, time_limit_s=params.time_limit_s,
                           mip_rel_gap=params.mip_rel_gap, warm_start=order)  # fmt: skip
    sites = outcome.sites if math.isfinite(outcome.objective) else order
    value = cover.covered(sites)
    if value - price * len(sites) < cover.covered(order) - price * len(order) - 1e-9:
        sites, value = order, cover.covered(order)  # never worse than the warm start
    bound = max(outcome.bound, value - price * len(sites))
    return PricedAnswer(price, np.sort(sites), value, bound, outcome.status, outcome.time_s)


def continue_greedy(group: Group, sites: Ints, count: int) -> tuple[Ints, Floats]:
    """The group's next ``count`` sites after ``sites`` by gain: its offer for spare budget."""
    return greedy_from(group.cover, np.asarray(sites, np.int64), count)


@dataclass(frozen=True)
class PriceRound:
    price: float
    sites: int
    bound: float
    slowest_group_s: float
    not_optimal: int  # groups whose MIP stopped before proving optimality (bound still valid)


@dataclass
class NationalSiting:
    sites: pd.DataFrame  # rank, h3, lon, lat, code, county, province, part, gain, gain_alone
    added: float  # residents newly within a walk
    bound: float  # no p sites from the candidate set can add more
    gap: float
    price: float
    rounds: list[PriceRound]
    parts: pd.DataFrame  # key, counties, candidates, rows, halo_rows, cells, seconds
    groups: int
    components: int
    residents: float
    beyond_walk_before: float
    seconds: dict[str, float]
    method: dict[str, str] = field(default_factory=dict)


def siting_inputs(
    demand: NationalDemand, stations: Stations, parts: list[Partition], params: SitingParams
) -> list[tuple[Partition, Any, Any, Box, Stations]]:
    """Each part's counties, its box grown by a walk, the scope's other counties meeting that
    box, and the stations within two walks of the part (what its cells' coverage and its
    halo's can depend on)."""
    counties = demand.counties[["code", "population", "geometry"]].reset_index(drop=True)
    tree = shapely.STRtree(counties.geometry.to_numpy())
    position = {code: i for i, code in enumerate(counties["code"])}
    result = []
    for part in parts:
        own_index = np.array([position[code] for code in part.codes], np.int64)
        own = counties.iloc[own_index].reset_index(drop=True)
        minx, miny, maxx, maxy = part_bounds(own.geometry.to_numpy())
        dlon, dlat = lon_lat_margin(params.reach_m, max(abs(miny), abs(maxy)))
        box = (minx - dlon, miny - dlat, maxx + dlon, maxy + dlat)
        near = np.setdiff1d(tree.query(shapely.box(*box), predicate="intersects"), own_index)
        neighbours = counties.iloc[np.sort(near)].reset_index(drop=True)
        close = halo((minx, miny, maxx, maxy), stations.lon, stations.lat,
                     2.01 * params.reach_m)  # fmt: skip
        result.append((part, own, neighbours, box, stations.take(close)))
    return result


def site_national(demand: NationalDemand, stations: Stations, params: SitingParams,
                  client: Any, *, parts: list[Partition] | None = None,
                  max_cells: int = DEFAULT_MAX_CELLS, groups: int = DEFAULT_GROUPS,
                  on_round: Callable[[PriceRound], None] | None = None,
                  engine: str = "single process") -> NationalSiting:  # fmt: skip
    """``params.p`` new sites over the scope; every part and every group a task on ``client``."""
    began = time.perf_counter()
    coverage = params.coverage
    parts = parts or plan_partitions(demand.counties, coverage.h3_resolution, max_cells)
    listed = sorted(code for part in parts for code in part.codes)
    if listed != sorted(demand.counties["code"]):
        raise ValueError("the partitions must hold every county of the scope exactly once")
    run = uuid.uuid4().hex[:12]
    built: list[PartProblem] = client.gather([
        client.submit(build_part, part.key, own, neighbours, box, near.lon, near.lat, params,
                      key=f"siting-{run}-build-{i}", pure=False)
        for i, (part, own, neighbours, box, near) in enumerate(
            siting_inputs(demand, stations, parts, params))
    ])  # fmt: skip
    built_s = time.perf_counter() - began
    scope = merge_parts(built)
    parts_table = pd.DataFrame([{
        "key": b.key, "counties": len(part.codes), "candidates": len(b.candidates),
        "rows": len(b.rows), "halo_rows": int((~b.rows["own"].to_numpy(bool)).sum()),
        "cells": b.own_cells, "residents": b.own_residents,
        "beyond_walk": b.own_beyond_walk, "seconds": b.build_s,
    } for b, part in zip(built, parts, strict=True)])  # fmt: skip
    result = NationalSiting(
        sites=_ranked(scope, EMPTY_INTS, np.zeros(0)), added=0.0, bound=0.0, gap=0.0,
        price=math.nan, rounds=[], parts=parts_table, groups=0, components=0,
        residents=float(parts_table["residents"].sum()),
        beyond_walk_before=float(parts_table["beyond_walk"].sum()), seconds={},
    )  # fmt: skip
    if scope.cover is not None:
        _solve(scope, params, client, groups, run, on_round, result)
    names = demand.counties.set_index("code")["name"]
    result.sites = result.sites.assign(county=result.sites["code"].map(names).fillna(""),
                                       province=result.sites["code"].str[:2])  # fmt: skip
    result.seconds = {"build": built_s, "total": time.perf_counter() - began}
    result.method = _method(demand, params, len(parts), engine, result)
    return result


def _solve(scope: ScopeProblem, params: SitingParams, client: Any, count: int, run: str,
           on_round: Callable[[PriceRound], None] | None,
           result: NationalSiting) -> None:  # fmt: skip
    assert scope.cover is not None
    groups, result.components = split_groups(scope.cover, count, params.p)
    result.groups = len(groups)
    held = client.scatter(groups)
    answers: dict[float, list[PricedAnswer]] = {}

    def at(price: float) -> int:
        index = len(result.rounds)
        found: list[PricedAnswer] = client.gather([
            client.submit(solve_at_price, group, price, params,
                          key=f"siting-{run}-price{index}-{i}", pure=False)
            for i, group in enumerate(held)
        ])  # fmt: skip
        answers[price] = found
        opened = sum(len(answer.sites) for answer in found)
        unproven = sum(answer.status != "Optimal" for answer in found)
        round_ = PriceRound(price, opened, price * params.p + sum(a.bound for a in found),
                            max(a.seconds for a in found), unproven)  # fmt: skip
        result.rounds.append(round_)
        if on_round:
            on_round(round_)
        return opened

    _search_price(at, np.concatenate([g.greedy_gains for g in groups]), params)
    chosen = max((r for r in result.rounds if r.sites <= params.p),
                 key=lambda r: (r.sites, -r.price))  # fmt: skip
    kept = [answer.sites for answer in answers[chosen.price]]
    spare = params.p - chosen.sites
    if spare > 0:
        offers = client.gather([
            client.submit(continue_greedy, group, sites, spare, key=f"siting-{run}-topup-{i}",
                          pure=False)
            for i, (group, sites) in enumerate(zip(held, kept, strict=True))
        ])  # fmt: skip
        pool = sorted((-float(gain), g, order, int(site))
                      for g, (sites, gains) in enumerate(offers)
                      for order, (site, gain) in enumerate(zip(sites.tolist(), gains.tolist(),
                                                               strict=True)))  # fmt: skip
        extra: list[list[int]] = [[] for _ in groups]
        for _, g, _, site in pool[:spare]:
            extra[g].append(site)
        kept = [np.sort(np.r_[sites, np.asarray(more, np.int64)]).astype(np.int64)
                for sites, more in zip(kept, extra, strict=True)]  # fmt: skip
    columns = np.sort(np.concatenate([g.sites[k] for g, k in zip(groups, kept, strict=True)]))
    order = rank_by_gain(scope.cover, columns)
    gains = marginal_gains(scope.cover, order)
    result.sites = _ranked(scope, order, gains)
    result.added = float(gains.sum())
    result.bound = max(min(r.bound for r in result.rounds), result.added)
    result.gap = (result.bound - result.added) / result.added if result.added > 0 else 0.0
    result.price = chosen.price


def _search_price(at: Callable[[float], int], greedy_gains: Floats,
                  params: SitingParams) -> None:  # fmt: skip
    """Find the price at which the groups open ``p`` sites, or bracket it within 0.01 %.

    It starts at the ``p``-th largest greedy gain over all groups, which usually opens about
    ``p``, steps by 25 % until one price opens too many and another at most ``p``, then
    bisects. A price near ``0`` opens every site that adds anyone and one above every site's
    gain opens none, so a bracket always exists. Equal gains (twin cells of one county) can make
    ``p`` unreachable exactly; the top-up then spends what is left.
    """
    p = params.p
    gains = np.sort(greedy_gains)[::-1]
    high = float(gains[0]) * 1.01 + 1.0 if len(gains) else 1.0
    if len(gains) < p:  # greedy reached everyone with fewer than p sites: so does the optimum
        if at(1e-12 * high) > p:  # a priced optimum opening more than p: never, but safe
            at(high)
        return
    low = 0.0
    seen_low = seen_high = False
    price = float(gains[p - 1])
    for _ in range(params.max_rounds):
        count = at(price)
        if count == p:
            return
        if count > p:
            low, seen_low = price, True
        else:
            high, seen_high = price, True
        if high - low <= PRICE_TOLERANCE * high:
            break
        if seen_low and seen_high:
            price = (low + high) / 2
        else:
            price = min(price * 1.25, high) if count > p else max(price / 1.25, low)
    if not seen_high:  # every price tried opened too many: the bracket's top opens none
        at(high)


def _ranked(scope: ScopeProblem, order: Ints, gains: Floats) -> pd.DataFrame:
    table = scope.candidates.iloc[np.asarray(order, np.int64)].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table["h3"] = [h3.int_to_str(int(cell)) for cell in table["h3"]]
    return table.assign(gain=np.asarray(gains, np.float64))


def _method(demand: NationalDemand, params: SitingParams, parts: int, engine: str,
            result: NationalSiting) -> dict[str, str]:  # fmt: skip
    coverage = params.coverage
    return {
        "model": f"maximal covering (MCLP): {params.p} new sites maximising the residents "
        "newly within a walk; existing stations fixed",
        "demand": demand.note,
        "reach": f"{params.reach_m:,.0f} m great-circle (walk {coverage.walk_m:g} m ÷ detour "
        f"{coverage.detour_factor})",
        "cells": f"demand at H3 resolution {coverage.h3_resolution}",
        "candidates": f"H3 resolution {params.resolution} cell centres inside each county, "
        f"the {params.per_county} per county with the largest gain alone; the optimum and "
        "the bound are over this candidate set",
        "combination": f"built in {parts} parts (halo: the cells a part's candidates reach "
        f"across its border); solved as {result.components:,} components in "
        f"{result.groups} groups sharing the budget through a price (Lagrangian relaxation), "
        f"{len(result.rounds)} rounds of one HiGHS MIP per group; bound = min over prices of "
        "price·p + Σ groups' priced bounds",
        "engine": engine,
    }
