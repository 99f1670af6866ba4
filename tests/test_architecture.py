"""The layering of STYLE.md: the partition core imports no database, web or CLI code."""

import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "geoalchemy2", "fastapi", "starlette", "folium", "typer", "click",
             "pydantic_settings", "geogrid.db", "geogrid.api", "geogrid.cli", "geogrid.viz",
             "geogrid.settings")


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_partition_core_is_pure():
    loaded = _modules_after_import("geogrid.partition")
    bad = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN or m.startswith(FORBIDDEN))
    assert bad == []


def test_leaf_modules_are_leaves():
    loaded = _modules_after_import("geogrid.errors, geogrid.columns")
    assert not any(m.startswith("geogrid.") and m not in {"geogrid.errors", "geogrid.columns"} for m in loaded)


def test_test_modules_have_names_of_their_own():
    """pytest imports a test module by its file name where its folder has no __init__.py
    (tests/partition has one: its modules are named within that package): a second module
    of the same name stops a whole run at collection ('import file mismatch'), though
    either file alone passes."""
    from collections import Counter
    from pathlib import Path

    def module_name(path: Path) -> str:
        parts, folder = [path.stem], path.parent
        while (folder / "__init__.py").is_file():
            parts.insert(0, folder.name)
            folder = folder.parent
        return ".".join(parts)

    names = Counter(module_name(p) for p in Path(__file__).parent.rglob("test_*.py"))
    assert [n for n, k in names.items() if k > 1] == []
