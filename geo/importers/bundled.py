"""Load the bundled dataset in ``data/`` (boundaries first, so points find their areas)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from geo.errors import InvalidInputError
from geo.importers._validate import ImportReport
from geo.importers.files import ImportKind, import_file
from geo.store.db import session_scope

ORDER = (ImportKind.BOUNDARIES, ImportKind.STATIONS, ImportKind.ENTERPRISES)


def bundled_files(data_dir: Path) -> list[tuple[ImportKind, Path]]:
    """Every ``*.geojson`` under ``data/<kind>/``, in load order."""
    files = [(kind, path) for kind in ORDER
             for path in sorted((data_dir / kind.value).glob("*.geojson"))]  # fmt: skip
    if not files:
        raise InvalidInputError(f"no bundled data found under {data_dir}")
    return files


def load_bundled(engine: Engine, data_dir: Path) -> list[ImportReport]:
    """Load all bundled files in ONE transaction, strictly: a bad row means a broken bundle."""
    with session_scope(engine) as session:
        return [import_file(session, path, kind, strict=True)
                for kind, path in bundled_files(data_dir)]  # fmt: skip
