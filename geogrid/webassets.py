"""Where the vendored front-end files are: the web map's directory and its Leaflet.

The web map (``web_map/``) and the analysts' folium maps load the same Leaflet, copied
from the npm registry into ``web_map/vendor/leaflet`` (pinned, with its licence; see
``web_map/vendor/README.md``), so neither needs the internet.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from pathlib import Path

__all__ = ["web_map_dir", "leaflet_inline", "web_strings"]

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent


def web_map_dir(configured: str | Path | None = None, holding: str | None = None) -> Path | None:
    """The web map's directory: ``configured`` when given, else ``web_map/`` in the
    working directory, in the checkout geogrid runs from, or the copy a wheel installs
    inside the package (see setup.py); None when none exists.  With ``holding`` (a
    path inside it), the first that holds that file: a ``web_map/`` of something else
    in the working directory does not hide geogrid's own."""
    candidates = [Path(configured)] if configured else []
    candidates += [Path.cwd() / "web_map", _REPO / "web_map", _PACKAGE / "web_map"]
    for c in candidates:
        if c.is_dir() and (holding is None or (c / holding).is_file()):
            return c
    return None


@functools.lru_cache(maxsize=1)
def _leaflet_inline(leaflet: Path) -> tuple[str, str]:
    js = (leaflet / "leaflet.js").read_text(encoding="utf-8")
    css = (leaflet / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(m: re.Match) -> str:
        png = (leaflet / m.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(png).decode("ascii") + ")"

    # the layer-control and marker icons, which a page written inline cannot fetch
    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    # the sourceMappingURL comment names a map that is not shipped
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    # a page written inline must not meet a closing tag inside the script
    return js.replace("</script", "<\\/script"), css


def leaflet_inline() -> tuple[str, str]:
    """Leaflet's script and stylesheet as text, its images inlined as data URIs, for a
    page that must stand alone (a folium map in a notebook or an HTML file).

    Raises FileNotFoundError, saying what to do, when the vendored copy is not found.
    """
    root = web_map_dir(holding="vendor/leaflet/leaflet.js")
    leaflet = root / "vendor" / "leaflet" if root else None
    if leaflet is None:
        raise FileNotFoundError(
            "the vendored Leaflet (web_map/vendor/leaflet/leaflet.js) was not found in the "
            "working directory, next to the geogrid package or inside it: install geogrid "
            "from a wheel or a checkout, or run scripts/vendor-web.sh in the checkout")
    return _leaflet_inline(leaflet)


_STRING = re.compile(r'^\s*"([^"]+)":\s*("(?:[^"\\]|\\.)*")\s*,?\s*$')


@functools.lru_cache(maxsize=4)
def _web_strings(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _STRING.match(line)
        if m:
            out[m.group(1)] = json.loads(m.group(2))
    return out


#: the files of one language's strings in ``web_map/strings/``: the map's own words and
#: the API's refusals by their message key (``web_map/i18n.js`` joins them)
STRING_FILES = ("{lang}.js", "{lang}-api.js")


def string_files(lang: str, root: Path | None = None) -> list[Path]:
    """The files of the web map's strings in ``lang`` (:data:`STRING_FILES`) under the web
    map's directory ``root`` (found when not given); ``[]`` when the web map is not found."""
    root = root or web_map_dir(holding=f"strings/{lang}.js")
    return [root / "strings" / name.format(lang=lang) for name in STRING_FILES] if root else []


def web_strings(lang: str) -> dict[str, str]:
    """The web map's strings in ``lang`` (:func:`string_files`: one ``"key": "text",`` a
    line), so that what the folium maps call a thing (a note's kind: 自然村被拆分) is what
    the web map calls it; ``{}`` when the web map is not found."""
    out: dict[str, str] = {}
    for path in string_files(lang):
        out.update(_web_strings(path))
    return out
