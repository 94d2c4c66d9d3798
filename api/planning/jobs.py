"""``/jobs``: siting runs as asynchronous jobs — create, poll, fetch the result, cancel.

State lives in the ``jobs`` table (migration 0004), so any worker answers a poll. The solver runs
in a child process (``spawn``): the event loop stays free, and cancelling terminates it. Work is
bounded: parameters (see :class:`geo.siting.job.SitingJobParams`), jobs active at once, one
running per API worker, a deadline of the time limit plus a grace period, finished jobs kept
for a week.

A job belongs to the worker that accepted it (``owner``, that worker's lease:
:mod:`api.runtime.lease`). When a worker dies without a word (SIGKILL, a lost machine), its
queued and running jobs are failed with a reason by :func:`fail_orphans`, which every worker
runs at start-up, before counting active jobs and when a poll finds a job active: an orphan
never hangs a poll nor holds a place under the cap. They are failed rather than re-run: the
planner who asked is told, and the data may have changed since.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import JSONResponse, Response

from api.coords import CoordsQuery, shift_geojson
from api.deps import ConnectionDep, ServicesDep
from api.planning.schemas import Job, SitingResult
from api.runtime.lease import LEASE_NAMESPACE
from api.schemas import GeoJSONResponse, answer, json_answer
from geo.crs import CoordSystem
from geo.errors import (
    ConflictError,
    DatabaseUnavailableError,
    LimitExceededError,
    NotFoundError,
)
from geo.siting.job import SitingJobParams, child_main
from geo.store.db import resolve_database_url

router = APIRouter(tags=["jobs"])
MAX_ACTIVE_JOBS = 8  # queued + running, across all workers
GRACE_S = 60.0  # loading data and building the model come on top of the solver's limit
POLL_S = 0.25
KEEP_DAYS = 7
ORPHANED = "interrupted: the worker running it stopped; start it again"
ORPHAN_GRACE_S = 30.0  # a live owner re-takes its lease well within this after a restart
# Active jobs whose owner's lease (an advisory lock, see api.runtime.lease) nobody holds and
# whose owner has not touched them for the grace period.
_FAIL_ORPHANS = """
UPDATE jobs SET status = 'failed', finished_at = now(), error = $2
 WHERE status IN ('queued', 'running')
   AND coalesce(heartbeat_at, created_at) < now() - make_interval(secs => $3)
   AND (owner IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_locks AS l
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = $1::int4::oid AND l.objid = hashtext(jobs.owner)::oid))
RETURNING id
"""
_SPAWN = multiprocessing.get_context("spawn")

_COLUMNS = "id, kind, status, params, created_at, started_at, finished_at, error"
_INSERT = (
    f"INSERT INTO jobs (kind, params, owner) VALUES ('siting', $1::jsonb, $2) RETURNING {_COLUMNS}"  # noqa: S608
)
JobId = Annotated[uuid.UUID, Path(description="the id returned when the job was created")]


def _document(row: asyncpg.Record, request: Request) -> dict[str, Any]:
    base = str(request.url_for("get_job", job_id=str(row["id"])))
    links = [{"rel": "self", "href": base}, {"rel": "cancel", "href": base, "method": "DELETE"}]
    if row["status"] == "succeeded":
        links.append({"rel": "result", "href": f"{base}/result", "type": "application/geo+json"})
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "status": row["status"],
        "params": json.loads(row["params"]) if isinstance(row["params"], str) else row["params"],
        "created_at": row["created_at"].isoformat(),
        "started_at": row["started_at"].isoformat() if row["started_at"] else None,
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        "error": row["error"],
        "links": links,
    }


@router.post(
    "/jobs/siting",
    summary="Start a siting run (MCLP, LSCP or backup) in the background",
    status_code=202,
    responses={202: answer(Job), 429: {"description": "too many jobs active (problem+json)"}},
)
async def create_siting_job(
    request: Request,
    conn: ConnectionDep,
    services: ServicesDep,
    params: Annotated[
        SitingJobParams,
        Body(examples=[{"boundary": ["110106000000"], "p": 3, "model": "mclp"}]),
    ],
) -> JSONResponse:
    lease = services.lease
    if lease is None or not lease.held:  # another worker would take its jobs for orphans
        raise DatabaseUnavailableError("this worker cannot run jobs until its database "
                                       "connection is back; retry shortly")  # fmt: skip
    await conn.execute(
        "DELETE FROM jobs WHERE finished_at < now() - make_interval(days => $1)", KEEP_DAYS
    )
    await fail_orphans(conn)
    active = await conn.fetchval("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
    if active >= MAX_ACTIVE_JOBS:
        raise LimitExceededError(
            f"{active} jobs are active: at most {MAX_ACTIVE_JOBS} at once; retry when one finishes"
        )
    row = await conn.fetchrow(_INSERT, params.model_dump_json(), lease.owner)
    pool = services.pool
    if pool is None:
        raise DatabaseUnavailableError("the app was started without its database pool")
    url = resolve_database_url(services.settings)
    services.jobs.keep(asyncio.create_task(_run(pool, services.jobs.running, row["id"], url,
                                                params)))  # fmt: skip
    body = _document(row, request)
    return JSONResponse(body, status_code=202, headers={"Location": body["links"][0]["href"]})


async def _run(
    pool: asyncpg.Pool,
    slots: asyncio.Semaphore,
    job_id: uuid.UUID,
    url: str,
    params: SitingJobParams,
) -> None:
    """Run one job in a child process; write its outcome; stop it if it is cancelled."""
    try:
        await _run_in_slot(pool, slots, job_id, url, params)
    except asyncio.CancelledError:  # the server is shutting down: say so, do not leave it running
        await pool.execute(
            "UPDATE jobs SET status = 'failed', finished_at = now(), error = $2 "
            "WHERE id = $1 AND status IN ('queued', 'running')",
            job_id, "interrupted: the server shut down; start it again",
        )  # fmt: skip
        raise


async def _run_in_slot(pool: asyncpg.Pool, slots: asyncio.Semaphore, job_id: uuid.UUID,
                       url: str, params: SitingJobParams) -> None:  # fmt: skip
    async with slots:
        started = await pool.fetchval(
            "UPDATE jobs SET status = 'running', started_at = now() "
            "WHERE id = $1 AND status = 'queued' RETURNING id",
            job_id,
        )
        if started is None:  # cancelled while queued
            return
        receiver, sender = _SPAWN.Pipe(duplex=False)
        process = _SPAWN.Process(
            target=child_main,
            args=(url, params.model_dump_json(), sender, os.getpid()),
            daemon=True,
        )
        process.start()
        sender.close()
        deadline = time.monotonic() + params.time_limit_s + GRACE_S
        outcome: tuple[str, Any] | None = None
        try:
            while outcome is None:
                if receiver.poll():
                    outcome = receiver.recv()
                elif not process.is_alive():
                    outcome = ("error", "the siting run stopped without a result")
                elif time.monotonic() > deadline:
                    outcome = ("error", f"no result within {params.time_limit_s + GRACE_S:g} s")
                elif (
                    await pool.fetchval("SELECT status FROM jobs WHERE id = $1", job_id)
                    != "running"
                ):
                    return  # cancelled, or failed by another worker: stop the solver
                else:
                    await asyncio.sleep(POLL_S)
        finally:
            if process.is_alive():
                process.terminate()
            await asyncio.to_thread(process.join, 5)
            receiver.close()
        kind, payload = outcome
        if kind == "ok":
            await pool.execute(
                "UPDATE jobs SET status = 'succeeded', finished_at = now(), result = $2::jsonb "
                "WHERE id = $1 AND status = 'running'",
                job_id,
                json.dumps(payload),
            )
        else:
            await pool.execute(
                "UPDATE jobs SET status = 'failed', finished_at = now(), error = $2 "
                "WHERE id = $1 AND status = 'running'",
                job_id,
                str(payload),
            )


async def fail_orphans(conn: asyncpg.Connection) -> list[uuid.UUID]:
    """Fail every queued or running job whose worker is gone (its lease is free); their ids."""
    rows = await conn.fetch(_FAIL_ORPHANS, LEASE_NAMESPACE, ORPHANED, ORPHAN_GRACE_S)
    return [r["id"] for r in rows]


async def _fetch(conn: asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM jobs WHERE id = $1", job_id)  # noqa: S608
    if row is None:
        raise NotFoundError(f"no job {job_id}")
    if row["status"] in ("queued", "running") and job_id in await fail_orphans(conn):
        return await _fetch(conn, job_id)  # its worker is gone: say so, never hang a poll
    return row


@router.get("/jobs/{job_id}", summary="A job's state", name="get_job",
            responses={200: answer(Job)})  # fmt: skip
async def get_job(request: Request, conn: ConnectionDep, job_id: JobId) -> Response:
    return json_answer(_document(await _fetch(conn, job_id), request))


@router.get(
    "/jobs/{job_id}/result",
    summary="A finished siting job's proposals (GeoJSON) and summary",
    response_class=GeoJSONResponse,
    responses={
        200: answer(SitingResult),
        409: {"description": "not finished, failed or cancelled (problem+json)"},
    },
)
async def get_job_result(
    conn: ConnectionDep, job_id: JobId, coords: CoordsQuery = CoordSystem.WGS84
) -> Response:
    """Proposals' points in ``coords`` (their ``lon``/``lat`` properties stay WGS-84)."""
    row = await _fetch(conn, job_id)
    if row["status"] != "succeeded":
        reason = f": {row['error']}" if row["error"] else ""
        raise ConflictError(f"job {job_id} is {row['status']}{reason}")
    result = await conn.fetchval("SELECT result::text FROM jobs WHERE id = $1", job_id)
    if coords is not CoordSystem.WGS84:
        result = json.dumps(shift_geojson(json.loads(result), coords), ensure_ascii=False)
    return Response(result.encode(), media_type="application/geo+json")


@router.delete("/jobs/{job_id}", summary="Cancel a queued or running job",
               responses={200: answer(Job)})  # fmt: skip
async def cancel_job(request: Request, conn: ConnectionDep, job_id: JobId) -> Response:
    row = await conn.fetchrow(
        "UPDATE jobs SET status = 'cancelled', finished_at = now() "
        "WHERE id = $1 AND status IN ('queued', 'running') RETURNING id, kind, status, params, "
        "created_at, started_at, finished_at, error",
        job_id,
    )
    if row is None:
        current = await _fetch(conn, job_id)
        raise ConflictError(f"job {job_id} is already {current['status']}")
    return json_answer(_document(row, request))
