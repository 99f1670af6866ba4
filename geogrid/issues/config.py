"""Settings of the issue workflow: ``GEOGRID_ISSUES_*`` (pydantic-settings).

Only adapters (the API, the CLI) import this; the domain modules take plain arguments.
Nothing is read at import time: build :class:`IssueSettings` or call :func:`get_issue_settings`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geogrid.issues.duplicates import DEFAULT_RADIUS_M, DEFAULT_WINDOW_DAYS
from geogrid.issues.photos import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_THUMB_PX
from geogrid.issues.routing import DEFAULT_TOLERANCE_M

__all__ = ["IssueSettings", "get_issue_settings"]


class IssueSettings(BaseSettings):
    """Issues: catalogue file, photo limits, routing tolerance, duplicate search."""

    model_config = SettingsConfigDict(env_prefix="GEOGRID_ISSUES_", env_file=".env", extra="ignore")

    catalogue_path: str = Field(
        "", description="JSON or YAML file of categories and departments (empty: the defaults).")
    photo_max_bytes: int = Field(
        DEFAULT_MAX_BYTES, ge=1024,
        description="Largest photo accepted (bytes); GEOGRID_API_MAX_BODY_BYTES must be larger.")
    photo_max_pixels: int = Field(
        DEFAULT_MAX_PIXELS, ge=10_000, description="Largest photo in pixels (decompression bombs).")
    thumbnail_px: int = Field(DEFAULT_THUMB_PX, ge=32, le=2048, description="Thumbnail size.")
    boundary_tolerance_m: float = Field(
        DEFAULT_TOLERANCE_M, ge=0,
        description="Points nearer a cell boundary than this are flagged for manual routing.")
    duplicate_radius_m: float = Field(DEFAULT_RADIUS_M, gt=0, description="Duplicate search radius.")
    duplicate_window_days: float = Field(
        DEFAULT_WINDOW_DAYS, gt=0, description="Duplicate search time window (days).")
    supervision_interval_s: float = Field(
        600, ge=0, description="How often the server flags overdue issues as supervised (督办), "
        "seconds (at start, then every so often); 0: never (an administrator's "
        "POST /api/v1/issues/supervision only).")
    open311_public_read: bool = Field(
        True, description="Open311 GET without an API key shows public categories only; "
        "false requires a key for every call.")


def get_issue_settings(**overrides) -> IssueSettings:
    return IssueSettings(**overrides)
