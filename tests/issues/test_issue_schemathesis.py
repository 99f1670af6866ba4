"""Schemathesis over the issue and Open311 operations: no input makes the server answer
5xx (bounded, as admin and as cadres, on both back-ends), and the domain stays pure."""

from __future__ import annotations

import random
import subprocess
import sys

import schemathesis
from hypothesis import HealthCheck, given, settings


def test_issue_operations_never_5xx(issue_app, iclient, itokens):
    lon, lat = 109.2025, 27.305
    r = iclient.post("/api/v1/issues", json={"category": "sanitation", "lon": lon, "lat": lat},
                     headers=itokens["cadre1"])
    ids = {"issue_id": r.json()["id"], "code": "sanitation", "fmt": "json"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", issue_app)
    rng = random.Random(0)
    failures, calls, operations = [], [], 0
    for result in schema.get_all_operations():
        op = result.ok()
        if "issue" not in op.path and "open311" not in op.path and "api-keys" not in op.path:
            continue
        operations += 1

        @given(case=op.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            for k in list(case.path_parameters or {}):
                if k in ids and rng.random() < 0.6:
                    case.path_parameters[k] = ids[k]
            role = rng.choice(["admin", "cadre1", "cell1", "analyst"])
            case.headers = {**(case.headers or {}), **itokens[role]}
            response = case.call()
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append((op.label, role, response.status_code, response.text[:300]))

        run()
    assert operations >= 18
    assert failures == []
    assert any(c < 300 for c in calls)


def test_issue_domain_is_pure():
    forbidden = ("sqlalchemy", "geoalchemy2", "fastapi", "starlette", "geogrid.db", "geogrid.api",
                 "pydantic_settings", "geogrid.settings")
    mods = ", ".join(f"geogrid.issues.{m}" for m in
                     ("workflow", "catalogue", "deadlines", "routing", "duplicates", "photos", "stats"))
    code = f"import sys, {mods}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(out.stdout.split())
    assert sorted(m for m in loaded if m.startswith(forbidden)) == []
