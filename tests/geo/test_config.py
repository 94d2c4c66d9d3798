"""Settings: documented variables equal the real fields, and the environment is honoured."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from geo.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def _variables(model: type[BaseModel], prefix: str) -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _variables(annotation, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def test_env_example_documents_exactly_the_settings():
    documented = set(re.findall(r"^#?\s*(NUANXIN_[A-Z_]+)=", ENV_EXAMPLE.read_text(), re.M))
    assert documented == _variables(Settings, "NUANXIN_")


def test_environment_and_nested_variables_are_read(monkeypatch):
    monkeypatch.setenv("NUANXIN_API__PORT", "9100")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/n")
    monkeypatch.setenv("NUANXIN_API__CORS_ORIGINS", '["https://partner.example"]')
    settings = Settings(_env_file=None)
    assert settings.api.port == 9100
    assert settings.database_url == "postgresql://u:p@db:5432/n"
    assert settings.api.cors_origins == ["https://partner.example"]


def test_non_postgres_url_is_refused(monkeypatch):
    monkeypatch.setenv("NUANXIN_DATABASE_URL", "mysql://u@h/db")
    with pytest.raises(ValidationError, match="postgresql://"):
        Settings(_env_file=None)


def test_the_pages_settings_are_read_and_a_bad_basemap_crs_refused(monkeypatch):
    monkeypatch.setenv("NUANXIN_EMBED_ORIGINS", "https://partner.example")
    monkeypatch.setenv("NUANXIN_BASEMAPS", "osm,amap")
    monkeypatch.setenv("NUANXIN_BASEMAP_CRS", "GCJ02")
    settings = Settings(_env_file=None)
    assert settings.embed_origins == "https://partner.example"
    assert (settings.basemaps, settings.basemap_crs) == ("osm,amap", "gcj02")
    with pytest.raises(ValidationError, match="basemap_crs"):
        Settings(_env_file=None, basemap_crs="mars")
