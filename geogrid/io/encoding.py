"""Which text encoding a CSV file is in: UTF-8, UTF-8 with a BOM, GBK or GB18030.

Registers kept in Excel or WPS on Chinese Windows are saved as GBK ("ANSI"); newer ones
as UTF-8, often with a byte-order mark.  GB18030 is a superset of GBK (every GBK file
decodes identically as GB18030) that also covers characters outside GBK, such as the
rare name characters 𠮷 and 䶮, so a file that is not UTF-8 is read as GB18030.
charset-normalizer is asked for a second opinion only when that decode succeeds but
the text does not look Chinese, so that a Big5 or Latin-1 file gives a clear error
instead of mojibake.
"""

from __future__ import annotations

import codecs
import os
import re

from geogrid.errors import EncodingError

__all__ = ["ENCODINGS", "detect_encoding", "decode_bytes"]

#: The encodings geogrid detects, as Python codec names.
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")

_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz", "cp936", "hz_gb_2312", "euc_cn"}
_HINT = (
    "save it again as 'CSV UTF-8' (Excel: 另存为 → CSV UTF-8(逗号分隔)) "
    "or name the encoding with --encoding"
)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_CHINESE = re.compile(
    "[\u3000-\u303f"  # CJK punctuation
    "\u3400-\u4dbf"  # extension A (䶮)
    "\u4e00-\u9fff"  # unified ideographs
    "\uff00-\uffef"  # full-width forms
    "\U00020000-\U0003134f"  # extensions B..G (𠮷)
    "\u2000-\u206f\u00b7\u00d7\u00f7\u00b0\u00b1\u2116\u2460-\u24ff\u25a0-\u25ff]"  # punctuation, ①, ■
)


def _looks_chinese(text: str, *, sample: int = 1_000_000) -> bool:
    """Most non-ASCII characters are CJK ideographs, CJK punctuation or full-width forms."""
    text = text[:sample]
    non_ascii = len(_NON_ASCII.findall(text))
    if not non_ascii:
        return True
    return len(_CHINESE.findall(text)) / non_ascii >= 0.8


def detect_encoding(data: bytes, *, name: str | os.PathLike = "<bytes>") -> str:
    """The codec that decodes ``data``: ``utf-8-sig``, ``utf-8`` or ``gb18030``.

    GBK files are reported as ``gb18030`` (its superset).  Raises
    :class:`~geogrid.errors.EncodingError` naming ``name`` when nothing fits.

    >>> detect_encoding("户编号".encode("gbk"))
    'gb18030'
    >>> detect_encoding(codecs.BOM_UTF8 + "户编号".encode())
    'utf-8-sig'
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise EncodingError(
                f"{name}: starts with a UTF-8 byte-order mark but byte {exc.start} is not UTF-8; "
                f"{_HINT}"
            ) from None
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        start = utf8_error.start
        if not data[:start].isascii():  # Chinese text in UTF-8 up to the bad byte
            line = data[:start].count(b"\n") + 1
            if utf8_error.reason == "unexpected end of data":
                raise EncodingError(
                    f"{name}: is UTF-8 but ends in the middle of a character (line {line}): "
                    "the file looks cut off (a copy or export that did not finish); export it again"
                ) from None
            raise EncodingError(
                f"{name}: is UTF-8 up to line {line}, where byte {start} is not: that line was pasted "
                f"in another encoding (GBK?); retype it or {_HINT}"
            ) from None
        raise EncodingError(
            f"{name}: is neither UTF-8 (bad byte at offset {utf8_error.start}) nor GBK/GB18030 "
            f"(bad byte at offset {exc.start}); {_HINT}"
        ) from None
    if _looks_chinese(text):
        return "gb18030"
    # GB18030 decodes, but into something that is not Chinese: ask charset-normalizer.
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    guess = best.encoding if best is not None else None
    if guess is None or guess.lower() in _GB_FAMILY:
        return "gb18030"
    raise EncodingError(
        f"{name}: is not UTF-8, and as GBK/GB18030 it decodes to text that is not Chinese "
        f"(it looks like {guess}); {_HINT}"
    )


_GB_CODECS = {codecs.lookup(c).name for c in ("gb2312", "gbk", "gb18030", "cp936")}


def _refuse_utf8_read_as_gb(data: bytes, encoding: str, name) -> None:
    """Raise :class:`EncodingError` when ``data``, named GBK/GB18030 by the caller, is
    Chinese text in UTF-8: GB18030 decodes most such bytes without an error, into other
    characters (张三 reads 寮犱笁), which were imported as the names and addresses.  GBK
    text is next to never valid UTF-8 that reads as Chinese."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return
    if not _looks_chinese(text):
        return
    word = next(iter(re.findall(r"[^\x00-\x7f]+", text)), "")[:6]
    word = word[:-1] if len(word) % 2 and len(word) > 1 else word  # whole characters read back
    raise EncodingError(
        f"{name}: --encoding {encoding} was given, but the file is UTF-8: read as {encoding} its text "
        f"would be other characters ({word!r} would read {word.encode('utf-8').decode('gb18030', 'replace')!r}); "
        "leave --encoding out (it is detected) or give utf-8")


def decode_bytes(data: bytes, *, encoding: str | None = None, name: str | os.PathLike = "<bytes>") -> str:
    """Decode ``data`` with ``encoding`` (detected when ``None``), naming ``name`` on error."""
    codec = encoding or detect_encoding(data, name=name)
    try:
        codecs.lookup(codec)
    except LookupError:
        raise EncodingError(f"{name}: unknown encoding {codec!r}; use utf-8, utf-8-sig, gbk or gb18030") from None
    if codec.lower().replace("_", "-") == "gbk":
        codec = "gb18030"  # superset: never fail on a character GBK lacks
    if encoding is not None and codecs.lookup(codec).name in _GB_CODECS and not data.isascii():
        _refuse_utf8_read_as_gb(data, encoding, name)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{name}: is not valid {codec} (bad byte at offset {exc.start}); {_HINT}"
        ) from None
