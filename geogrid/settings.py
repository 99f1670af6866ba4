"""Settings, one pydantic-settings class per concern, all with the ``GEOGRID_`` prefix.

Nothing is read at import time: call :func:`get_settings` (or build :class:`Settings`
yourself in tests).  ``.env.example`` documents every variable.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "DEFAULT_DATABASE_URL"]

DEFAULT_DATABASE_URL = "sqlite:///geogrid.sqlite"


class Settings(BaseSettings):
    """Runtime settings of geogrid."""

    model_config = SettingsConfigDict(env_prefix="GEOGRID_", env_file=".env", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL. sqlite:///FILE selects SpatiaLite; "
        "postgresql+psycopg://user@host/db selects PostGIS.",
    )
    spatialite_library: str = Field(
        "mod_spatialite", description="Name or path of the SpatiaLite extension to load."
    )
    sqlite_busy_timeout_ms: int = Field(
        30_000, description="How long a SQLite writer waits for a lock before failing."
    )
    db_ping_after_idle_s: float = Field(
        1.0, ge=0, description="A pooled PostgreSQL connection idle longer than this (seconds) "
        "is pinged before use, and replaced if the server dropped it; 0 pings at every use."
    )
    secret_key: str = Field("change-me", description="JWT signing key; must be changed outside demo mode.")
    demo: bool = Field(False, description="Demo mode: allows the default secret and demo users.")
    data_dir: Path = Field(Path("var"), description="Where uploads and generated files are kept.")
    basemap: str = Field("none", description="Default basemap of the web map and of geogrid.viz.explore() "
                         "given no tiles: none, osm, tianditu or amap.")
    tianditu_key: str = Field("", description="Key for Tianditu (天地图) tiles.")
    county_code: str = Field("431227", description="GB/T 2260 code of the county being served.")


def get_settings(**overrides) -> Settings:
    """Read settings from the environment (and ``.env``), with keyword overrides."""
    return Settings(**overrides)
