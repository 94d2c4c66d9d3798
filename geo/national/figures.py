"""Shares, ranks and province totals from the partitions' per-county sums.

A county of known population is measured by its residents; one without (its polygon matched
no census row) by its area, i.e. its cells, which are near-equal at one H3 resolution:
``share_basis`` says which, and its per-resident figures stay unknown rather than zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.coverage.analysis import underserved_score


def _shares(sums: pd.DataFrame, by_area: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame(index=sums.index)
    weight = np.where(by_area, sums["cells"], sums["residents"].fillna(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        for share, part in (("share_within_radius", "within_radius"),
                            ("share_within_walk", "within_walk"),
                            ("share_two_plus", "two_plus"),
                            ("share_beyond_horizon", "beyond_horizon")):  # fmt: skip
            numerator = np.where(by_area, sums[f"cells_{part}"], sums[f"residents_{part}"])
            out[share] = np.where(weight > 0, numerator / weight, np.nan)
        distance = np.where(by_area, sums["cells_nearest_m_sum"], sums["residents_nearest_m_sum"])
        out["mean_nearest_m"] = np.where(weight > 0, distance / weight, np.nan)
    return out


def _per_resident(table: pd.DataFrame) -> pd.DataFrame:
    stations = table["stations"].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["residents_per_station"] = np.where(stations > 0, table["residents"] / stations,
                                                  np.inf)  # fmt: skip
        table["residents_per_station"] = table["residents_per_station"].where(
            table["residents"].notna(), np.nan
        )
        table["stations_per_10k"] = stations / table["residents"] * 10_000
        table["uncovered_residents"] = table["residents"] - table["residents_within_walk"]
    return table


def county_figures(sums: pd.DataFrame, counties: pd.DataFrame) -> pd.DataFrame:
    """One row per county, ranked (1 = most underserved) over the counties given."""
    meta = pd.DataFrame(counties[["code", "name", "province", "matched"]])
    table = meta.merge(sums, on="code", how="left", validate="one_to_one")
    by_area = ~table["matched"]
    table = pd.concat([table, _shares(table, by_area)], axis=1)
    table["share_basis"] = np.where(by_area, "area", "residents")
    table = _per_resident(table)
    # Ranked among the counties whose residents are known: an unmatched county's load and
    # uncovered residents are unknown, and a score of its area share alone would top the list.
    known = table[table["matched"]]
    ranked = underserved_score(known) if len(known) else known
    unranked = table[~table["matched"]].assign(score=np.nan, rank=pd.NA)
    out = pd.concat([ranked, unranked], ignore_index=True)
    out["rank"] = out["rank"].astype("Int64")
    return out.sort_values(["rank", "code"], kind="stable", na_position="last").reset_index(
        drop=True
    )


def province_figures(sums: pd.DataFrame, counties: pd.DataFrame,
                     names: dict[str, str] | None = None) -> pd.DataFrame:  # fmt: skip
    """Per province: its matched counties' residents; its unmatched ones counted apart."""
    table = pd.DataFrame(counties[["code", "province", "matched"]]).merge(sums, on="code")
    matched = table[table["matched"]]
    numeric = [c for c in sums.columns if c not in ("code", "p90_nearest_m")]
    totals = matched.groupby("province")[numeric].sum()
    totals["counties"] = table.groupby("province").size()
    totals["unmatched_counties"] = table[~table["matched"]].groupby("province").size()
    totals["stations"] = table.groupby("province")["stations"].sum()
    totals = totals.fillna({"unmatched_counties": 0}).reset_index()
    totals = totals.astype({"counties": int, "unmatched_counties": int})
    out = pd.concat([totals, _shares(totals, pd.Series(False, index=totals.index))], axis=1)
    out = _per_resident(out)
    out.insert(1, "name", [(names or {}).get(code, "") for code in out["province"]])
    out = out.rename(columns={"province": "code"})
    return underserved_score(out).sort_values(["rank", "code"]).reset_index(drop=True)
