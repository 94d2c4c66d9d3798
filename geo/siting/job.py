"""A siting run as a job: validated parameters in, a JSON-ready result out.

Runs in a child process of an API worker (so it can be cancelled by terminating it and never
holds the worker's event loop); reads its inputs from the database itself.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from multiprocessing.connection import Connection
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from geo.errors import GeoError, InvalidInputError
from geo.jsonsafe import json_scalar
from geo.siting.frames import SitingResult, prepare, site
from geo.standards import is_boundary_code
from geo.store.db import make_engine
from geo.store.frames import load_boundaries, load_enterprises, load_stations

MAX_P = 100
PR_SET_PDEATHSIG = 1  # linux/prctl.h
MAX_TIME_LIMIT_S = 120.0
MAX_CANDIDATES = 20_000


class SitingJobParams(BaseModel):
    """What a planner may ask for; every value bounded so a job cannot run away."""

    model_config = ConfigDict(extra="forbid")

    boundary: list[str] = Field(
        min_length=1, max_length=50, description="subdistrict or district codes (12 digits)"
    )
    p: int = Field(3, ge=1, le=MAX_P, description="new sites (mclp, backup)")
    model: Literal["mclp", "lscp", "backup"] = "mclp"
    target_share: float = Field(0.95, gt=0, le=1, description="lscp: share to reach")
    method: Literal["exact", "heuristic"] = "exact"
    time_limit_s: float = Field(30.0, gt=0, le=MAX_TIME_LIMIT_S)
    alpha: float = Field(0.5, ge=0, le=1, description="residents' share of the weight")
    radius_m: float | None = Field(None, gt=0, le=5000, description="instead of the walk")
    vintage: str | None = None

    @field_validator("boundary")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not is_boundary_code(code):
                raise ValueError(f"boundary {code!r} is not a 12-digit code")
        return codes


def result_document(result: SitingResult) -> dict[str, Any]:
    """The result as JSON: proposals as a GeoJSON FeatureCollection plus the summary."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
            "properties": {k: json_scalar(v) for k, v in row.items()},
        }
        for row in result.proposals.to_dict("records")
    ]
    solution = result.solution
    return {
        "type": "FeatureCollection",
        "features": features,
        "model": result.model,
        "before": {k: json_scalar(v) for k, v in result.before.items()},
        "after": {k: json_scalar(v) for k, v in result.after.items()},
        "total": {k: json_scalar(v) for k, v in result.total.items()},
        "solution": {
            "solver": solution.solver,
            "status": solution.status,
            "objective": json_scalar(solution.objective),
            "bound": json_scalar(solution.bound),
            "gap": json_scalar(solution.gap),
            "time_s": json_scalar(solution.time_s),
        },
        "method": result.method,
    }


def run_siting(database_url: str, params: SitingJobParams) -> dict[str, Any]:
    """Load, prepare, solve; raises :class:`geo.errors.GeoError` on bad input."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            boundaries = load_boundaries(conn, vintage=params.vintage, codes=params.boundary)
            stations = load_stations(conn)
            enterprises = load_enterprises(conn)
    finally:
        engine.dispose()
    data = prepare(boundaries, stations, enterprises=enterprises, alpha=params.alpha,
                   reach_m=params.radius_m)  # fmt: skip
    if len(data.candidates) > MAX_CANDIDATES:
        raise InvalidInputError(f"{len(data.candidates):,} candidate sites: at most "
                                f"{MAX_CANDIDATES:,} per job; choose fewer boundaries")  # fmt: skip
    result = site(data, params.model, p=params.p, target_share=params.target_share,
                  method=params.method, time_limit_s=params.time_limit_s)  # fmt: skip
    return result_document(result)


def die_with_parent(parent_pid: int) -> None:
    """On Linux, be sent SIGTERM when the process that started us dies, even by SIGKILL: a
    solver whose API worker is gone would compute for no one (its job is failed meanwhile)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # it died before the request was made
        os._exit(1)


def child_main(database_url: str, params_json: str, sender: Connection,
               parent_pid: int | None = None) -> None:  # fmt: skip
    """Entry point of the job's process: send ``("ok", document)`` or ``("error", message)``.

    Messages are safe to show a user: a bug is logged here and reported without internals.
    """
    if parent_pid is not None:
        die_with_parent(parent_pid)
    outcome: tuple[str, Any]
    try:
        outcome = ("ok", run_siting(database_url, SitingJobParams.model_validate_json(params_json)))
    except GeoError as exc:
        outcome = ("error", exc.message)
    except Exception:  # a bug: the log has the traceback, the user a plain sentence
        logging.getLogger("nuanxin.jobs").exception("siting job failed")
        outcome = ("error", "the siting run failed on our side")
    sender.send(outcome)
    sender.close()
