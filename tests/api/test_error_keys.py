"""Every refusal the API can give carries a message key (``key=`` on its raise), so the
web map words it in its user's language: the 404s (a household, cell, issue or plan not
found), the issue catalogue's and the Open311 routes' refusals were English only, and a
Chinese cadre read them so.  Read from the source: each raise of a geogrid error in
``geogrid/api`` and ``geogrid/issues``, and each NotFoundError anywhere, names a key,
unless it re-raises an error (``from exc``) whose key it keeps (geogrid/api/errors.py
message_of).  Each key has its strings: tests/test_api_message_strings.py."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = {"ValueError", "TypeError", "RuntimeError", "KeyError", "FileNotFoundError", "LookupError",
           "AssertionError", "NotImplementedError", "OSError", "ImportError", "SystemExit"}


def _unkeyed(paths, only=None) -> list[str]:
    out = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            f = node.exc.func
            name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
            if not name.endswith("Error") or name in BUILTIN or (only and name not in only):
                continue
            if any(k.arg in ("key", None) for k in node.exc.keywords):
                continue
            if isinstance(node.cause, ast.Name):  # raise X(str(exc)) from exc: exc's key
                continue
            out.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return out


FIX = ("give each raise a key= (and params= for its values) and the key its strings "
       "\"api.<key>\" in web_map/strings/zh-api.js and en-api.js")


def test_every_refusal_of_the_api_and_of_issues_has_a_key():
    paths = [*(ROOT / "geogrid" / "api").rglob("*.py"), *(ROOT / "geogrid" / "issues").rglob("*.py")]
    assert _unkeyed(paths) == [], FIX


def test_every_not_found_has_a_key():
    assert _unkeyed((ROOT / "geogrid").rglob("*.py"), only={"NotFoundError"}) == [], FIX
