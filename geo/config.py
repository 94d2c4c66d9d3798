"""Settings: one object, read from the environment (prefix ``NUANXIN_``) and ``.env``.

Nothing is read at import time: call :func:`get_settings` (cached) or build ``Settings(...)``
yourself, as the tests do. ``.env.example`` lists every variable; a test keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where the bundled dataset sits in an installed wheel (pyproject's force-include puts it here).
PACKAGED_DATA = Path(__file__).resolve().parent / "bundled_data"


def bundled_data_dir() -> Path:
    """The bundled dataset: ``data/`` of a checkout, else the copy inside the installed wheel."""
    checkout = PROJECT_ROOT / "data"
    return checkout if (checkout / "stations").is_dir() else PACKAGED_DATA


class LocalDbSettings(BaseModel):
    """The PostgreSQL cluster the project creates and starts itself when no URL is given."""

    cluster: str = Field("nuanxin", description="Debian cluster name (pg_createcluster)")
    port: int = Field(54329, ge=1024, le=65535, description="TCP port on 127.0.0.1")
    database: str = Field("nuanxin", description="database the main job uses")
    user: str = Field("nuanxin", description="login role created in the cluster")
    password_file: Path | None = Field(
        None,
        description="where the generated role password is kept (mode 600); "
        "default ~/.config/nuanxin/<cluster>.password, shared by every clone on the machine "
        "as the cluster is",
    )


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="worker processes (uvicorn's supervisor)")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="reverse proxies (addresses or CIDR networks) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; empty: none, the peer address is the client",
    )
    root_path: str = Field(
        "",
        pattern=r"^(/[A-Za-z0-9._~-]+)*$",
        description="the path prefix a reverse proxy serves us under, e.g. /nuanxin",
    )
    cors_origins: list[str] = Field(default_factory=list, description="allowed browser origins")
    max_features: int = Field(5000, ge=1, description="cap on features one request may return")
    default_features: int = Field(1000, ge=1, description="features returned without ?limit")
    max_body_bytes: int = Field(20_000_000, ge=1024, description="larger request bodies: 413")
    request_timeout_s: float = Field(30.0, gt=0, description="slower requests: 503")
    max_concurrent_requests: int = Field(
        256, ge=1, description="requests in flight per worker; beyond: 503 + Retry-After"
    )
    json_logs: bool = Field(True, description="one JSON object per log line, with request ids")
    session_idle_minutes: float = Field(
        30.0, gt=0, le=24 * 60, description="a console session unused this long ends"
    )
    session_absolute_hours: float = Field(
        12.0, gt=0, le=24 * 30, description="a console session ends this long after sign-in"
    )
    report_response_hours: float = Field(
        48.0, gt=0, le=24 * 60, description="a worker's report is answered within this promise"
    )
    walk_network: Path | None = Field(
        None, description="street network (OSM extract or line file) the locator walks along"
    )
    tiles_archive_url: str | None = Field(
        None,
        pattern=r"^(https?://[^\s\"'<>]+|/[^\s\"'<>]*)$",
        description="where `nuanxin export tiles` put its .pmtiles (e.g. on a CDN, serving "
        "HTTP ranges with CORS): the widget's source=archive draws stations from it",
    )


DEV_TOKEN_SECRET = "development-only-token-secret-do-not-use"  # noqa: S105 - refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NUANXIN_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("NUANXIN_DATABASE_URL", "DATABASE_URL"),
        description="postgresql://user:pass@host:port/db of an existing PostGIS; "
        "unset means the project's own local cluster",
    )
    database_read_url: str | None = Field(
        None,
        validation_alias=AliasChoices("NUANXIN_DATABASE_READ_URL", "DATABASE_READ_URL"),
        description="a read replica of database_url for public reads (items, tiles, the "
        "locator, coverage); writes and editors' reads stay on the primary; unset: one server",
    )
    data_dir: Path = Field(
        default_factory=lambda: bundled_data_dir(), description="bundled dataset to load"
    )
    local_db: LocalDbSettings = Field(default_factory=LocalDbSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    embed_origins: str = Field(
        "*", description="comma-separated origins allowed to frame the widget (frame-ancestors)"
    )
    basemaps: str = Field(
        "", description="comma-separated basemaps the pages may draw (osm, amap, …); none: offline"
    )
    basemap_url: str = Field("", description="this deployment's own tile URL template (custom)")
    basemap_crs: str = Field("wgs84", description="coordinate system of basemap_url's tiles")
    basemap_attribution: str = Field("", description="attribution shown for basemap_url")
    token_secret: SecretStr = Field(
        SecretStr(DEV_TOKEN_SECRET),
        description="key of the HMAC under which API token secrets are stored; set a long "
        "random value outside development (the service refuses the default there)",
    )

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.token_secret.get_secret_value() == DEV_TOKEN_SECRET
            or len(self.token_secret.get_secret_value()) < 32
        ):
            raise ValueError("NUANXIN_TOKEN_SECRET must be set to a random value of at least 32 "
                             "characters in production (e.g. `openssl rand -hex 32`)")  # fmt: skip
        return self

    @field_validator("basemap_crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        from geo.crs import parse_coord_system  # shapely and numpy: only when a value is given

        return parse_coord_system(value).value

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("database URLs must start with postgresql:// (no driver suffix)")
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once on first use."""
    return Settings()
