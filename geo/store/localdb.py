"""The project's own PostgreSQL cluster, for the main job and the tests on one machine.

Debian's ``pg_createcluster``/``pg_ctlcluster`` create and start a cluster owned by the
``postgres`` user (PostgreSQL refuses to run as root), on its own port so it never disturbs a
cluster that was already there. The login role gets a generated password kept in a file of
mode 600 in the user's home (machine-level, like the cluster, so every clone shares it); it is
re-applied on every start, so a lost file just means a new password. No secret is committed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

from geo.config import LocalDbSettings
from geo.errors import LocalDbError

POSTGRES_LIB = Path("/usr/lib/postgresql")
SOCKET_DIR = "/var/run/postgresql"


def installed_version() -> str:
    """Newest PostgreSQL major version with its server binaries installed."""
    versions = sorted(
        (p.parent.parent.name for p in POSTGRES_LIB.glob("*/bin/postgres")),
        key=lambda v: int(v) if v.isdigit() else 0,
    )
    if not versions:
        raise LocalDbError(
            "PostgreSQL server is not installed; run `make setup` "
            "or set NUANXIN_DATABASE_URL to an existing PostGIS"
        )
    postgis = list(Path("/usr/share/postgresql").glob(f"{versions[-1]}/extension/postgis.control"))
    if not postgis:
        raise LocalDbError(
            f"PostGIS for PostgreSQL {versions[-1]} is not installed; run `make setup`"
        )
    return versions[-1]


def _run(args: list[str], *, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # noqa: S603 - fixed programs, arguments built here
            args, input=stdin, capture_output=True, text=True, check=True, timeout=120
        )
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
        raise LocalDbError(f"`{' '.join(args[:3])} …` failed: {' | '.join(detail)}") from exc
    except FileNotFoundError as exc:
        raise LocalDbError(f"{args[0]} not found; run `make setup`") from exc


def password_file(settings: LocalDbSettings) -> Path:
    default = Path.home() / ".config" / "nuanxin" / f"{settings.cluster}.password"
    return settings.password_file or default


def _password(settings: LocalDbSettings) -> str:
    path = password_file(settings)
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def _ensure_cluster_running(version: str, settings: LocalDbSettings) -> None:
    conf = Path("/etc/postgresql") / version / settings.cluster / "postgresql.conf"
    if not conf.exists():
        _run([
            "pg_createcluster", version, settings.cluster, "--port", str(settings.port),
            "--", "--auth-local=peer", "--auth-host=scram-sha-256",
        ])  # fmt: skip
    status = subprocess.run(  # noqa: S603
        ["pg_ctlcluster", version, settings.cluster, "status"],  # noqa: S607
        capture_output=True,
        check=False,
    )
    if status.returncode != 0:
        _run(["pg_ctlcluster", version, settings.cluster, "start"])


def _ensure_role_and_database(settings: LocalDbSettings, password: str) -> None:
    # Sent on stdin, not argv, so the password never shows in `ps`. The values are psql
    # variables quoted by format(%I/%L); names were checked alphanumeric by the caller.
    script = f"""
\\set ON_ERROR_STOP on
\\set role '{settings.user}'
\\set pw '{password}'
\\set db '{settings.database}'
SELECT format('CREATE ROLE %I LOGIN SUPERUSER', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'pw') \\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec
"""  # noqa: S608
    _run(
        ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-h", SOCKET_DIR,
         "-p", str(settings.port), "-d", "postgres", "-f", "-"],
        stdin=script,
    )  # fmt: skip


def ensure_local_database(settings: LocalDbSettings) -> str:
    """Create/start the cluster, role and database as needed; return their ``postgresql://`` URL.

    Idempotent and fast when everything already runs (two status checks and one psql call).
    """
    if os.geteuid() != 0:
        raise LocalDbError(
            "the local cluster is managed with Debian's pg_ctlcluster, which needs root; "
            "run as root or set NUANXIN_DATABASE_URL to an existing PostGIS"
        )
    if shutil.which("pg_ctlcluster") is None:
        raise LocalDbError("postgresql-common is not installed; run `make setup`")
    version = installed_version()
    for name in (settings.user, settings.database):
        if not name.replace("_", "").isalnum():
            raise LocalDbError(f"local database/role names must be alphanumeric, got {name!r}")
    password = _password(settings)
    _ensure_cluster_running(version, settings)
    _ensure_role_and_database(settings, password)
    return f"postgresql://{settings.user}:{password}@127.0.0.1:{settings.port}/{settings.database}"
