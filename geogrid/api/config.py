"""Settings of the HTTP API, one pydantic-settings class with the ``GEOGRID_API_`` prefix.

The database URL, the secret key and demo mode stay in :class:`geogrid.settings.Settings`;
this class holds what only the API uses.  Nothing is read at import time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ApiSettings", "DEFAULT_SECRET"]

#: The secret shipped in :class:`geogrid.settings.Settings`; refused outside demo mode.
DEFAULT_SECRET = "change-me"


class ApiSettings(BaseSettings):
    """Limits and lifetimes of the HTTP API."""

    model_config = SettingsConfigDict(env_prefix="GEOGRID_API_", env_file=".env", extra="ignore")

    token_minutes: int = Field(480, ge=1, description="Lifetime of a bearer token (minutes).")
    max_body_bytes: int = Field(
        12_000_000, ge=1024,
        description="Largest request body accepted (a phone photo must fit); larger ones get 413."
    )
    login_free_failures: int = Field(
        3, ge=0, description="Failed log-ins per account before the exponential slowdown starts."
    )
    login_base_delay_s: float = Field(
        1.0, ge=0, description="First enforced wait after the free failures; doubles each time."
    )
    login_max_failures: int = Field(
        10, ge=1, description="Failed log-ins in a row after which the account is locked."
    )
    lockout_minutes: int = Field(15, ge=1, description="How long a locked account stays locked.")
    reveal_per_hour: int = Field(
        30, ge=1, description="Reveals of full personal fields allowed per user per hour."
    )
    threads: int = Field(
        8, ge=1, le=200,
        description="Worker threads per process for the routes that touch the database.  "
                    "Few: Python runs one thread at a time, and 40 threads (anyio's default) "
                    "under load spend their time queueing for the interpreter lock and "
                    "churning pooled connections; requests beyond this wait on the event loop.",
    )
    balance_connections: bool = Field(
        True,
        description="With several workers, a worker holding more than its share of the "
                    "port's keep-alive connections answers some with `Connection: close`, "
                    "so that clients reconnect and the kernel spreads them again (Linux).",
    )
    reads_on_loop: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Where the hot read routes (a house, a bbox page) run: on the event loop "
                    "with their audit rows group-committed on the loop (always), in the "
                    "thread pool (never), or on the loop when the database is local: "
                    "SQLite, or PostgreSQL on a Unix socket or loopback address (auto).",
    )
    forwarded_allow_ips: str = Field(
        "",
        description="Addresses of the reverse proxies in front of `geogrid serve` (comma-"
                    "separated; `*` for any), whose X-Forwarded-For and X-Forwarded-Proto "
                    "are believed: the client's address in the audit log, https in the "
                    "paging links.  Empty: no proxy, the headers are ignored (a client "
                    "could forge them).",
    )
    root_path: str = Field(
        "",
        description="The path a reverse proxy publishes geogrid under, such as `/geogrid` for "
                    "https://xxx.gov.cn/geogrid/ (empty: the root of a host of its own). The "
                    "proxy may strip it or pass it on: both are served, and the links the API "
                    "gives carry it. `geogrid serve --root-path` overrides it.",
    )
    page_limit_default: int = Field(100, ge=1, description="Default `limit` of feature pages.")
    page_limit_max: int = Field(5000, ge=1, description="Largest `limit` of feature pages.")
    web_map_dir: str = Field(
        "", description="Directory served at / (default: web_map/ of the working directory or repo)."
    )

    @field_validator("root_path")
    @classmethod
    def _root_path(cls, value: str) -> str:
        from geogrid.api.rootpath import clean_root_path

        return clean_root_path(value)
