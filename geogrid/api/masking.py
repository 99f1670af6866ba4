"""Masking of personal fields, in responses and in log lines.

Personal fields leave the API masked unless a caller reveals them with a purpose
(``POST /persons/{id}/reveal``):

* name: the family name is kept (``欧阳**``, ``王*``), compound surnames included;
* resident ID number: the last four characters are kept;
* phone number: the first three and the last four digits are kept.

Free text (an issue's description, a note, a plan's name, an audit purpose, an error
message) is masked by :func:`mask_text`, with the numbers the register loaders find
(:mod:`geogrid.personalnumbers`: ID numbers of 18 characters and of 15, mobiles and
landlines with their area code, in full-width digits or in groups).
:class:`MaskingFilter` applies the same rule to log lines, so that an ID number or a
phone number typed into a search box never reaches a log file in full.
"""

from __future__ import annotations

import logging
import re

from geogrid.idnumber import mask_id_number
from geogrid.personalnumbers import mask_numbers
from geogrid.phonenumber import mask_phone

__all__ = [
    "COMPOUND_SURNAMES",
    "mask_name",
    "mask_id_number",
    "mask_phone",
    "mask_text",
    "mask_json",
    "MaskingFilter",
    "install_log_masking",
]

#: Two-character (复姓) family names, from the 百家姓 and common modern usage.
COMPOUND_SURNAMES = frozenset(
    """
    欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 轩辕 端木 独孤
    南宫 西门 百里 呼延 澹台 公冶 宗政 濮阳 淳于 单于 太叔 申屠 仲孙 钟离 闻人 万俟 赫连
    羊舌 微生 梁丘 左丘 东郭 公羊 第五 拓跋 司空 亓官 司寇 鲜于 闾丘 子车 颛孙 壤驷 公良
    漆雕 乐正 巫马 谷梁 宰父 段干 东门 公西 南门 呼衍
    """.split()
)

_MASK = "*"


def mask_name(name: str | None) -> str | None:
    """Keep the family name, mask the given name, one ``*`` per character.

    A two-character compound surname (欧阳, 司马, ...) is kept whole when the name is
    longer than the surname itself.  Names written with a middle dot (transliterated
    minority names) keep their first part's first character only.

    >>> mask_name("王小明")
    '王**'
    >>> mask_name("欧阳娜娜")
    '欧阳**'
    >>> mask_name("司马光")
    '司马*'
    >>> mask_name("欧阳")   # a bare compound is treated as surname + given name
    '欧*'
    """
    if not name:
        return name
    name = str(name).strip()
    keep = 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1
    if len(name) == 1:
        return name
    return name[:keep] + "".join(c if c in " ·•" else _MASK for c in name[keep:])


#: geogrid's own ids (uuid4 as 32 hex characters): never masked.  About one in 500 of
#: them holds a run like ``13812345678`` that would otherwise be taken for a phone.
_OBJECT_ID = re.compile(r"(?<![0-9A-Za-z])([0-9a-f]{32})(?![0-9A-Za-z])")


def _mask_numbers(text: str) -> str:
    # not strict: an ID number with a wrong check character or birth date is masked too
    return mask_numbers(text, strict=False)[0]


def mask_text(text: str) -> str:
    """Mask every ID number and phone number inside free text
    (:func:`geogrid.personalnumbers.mask_numbers`); an 18-character number standing on
    its own is masked whether or not it is a valid ID number, a mistyped one included.

    Object ids (32 hex characters, :func:`geogrid.db.models.new_id`) are left alone.

    >>> mask_text("q=431227199001011234 tel 13812345678, 座机0871-12345678")
    'q=**************1234 tel 138****5678, 座机087*-****5678'
    >>> mask_text("电话１３８１２３４５６７８，户编号431227100201-0005，20261204")
    '电话138****5678，户编号431227100201-0005，20261204'
    >>> mask_text("/persons/0a13812345678b4e9f00c2d1e3a5b7c9")
    '/persons/0a13812345678b4e9f00c2d1e3a5b7c9'
    """
    if not _OBJECT_ID.search(text):
        return _mask_numbers(text)
    parts = _OBJECT_ID.split(text)  # text, id, text, id, ..., text
    return "".join(p if i % 2 else _mask_numbers(p) for i, p in enumerate(parts))


def mask_json(value):
    """``value`` (JSON-like: dicts, lists, strings, numbers) with :func:`mask_text` applied
    to every string in it, keys included; an int that is a whole ID or phone number too.

    >>> mask_json({"q": "13812345678", "n": [1, "431227199001011234"]})
    {'q': '138****5678', 'n': [1, '**************1234']}
    """
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        masked = mask_text(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {mask_json(k) if isinstance(k, str) else k: mask_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_json(v) for v in value]
    return value


class MaskingFilter(logging.Filter):
    """A logging filter that masks ID and phone numbers in the formatted message.

    Attach it to *handlers* (filters on a logger do not see records propagated from
    child loggers); :func:`install_log_masking` does that.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # Mask the template and each string argument, keeping ``args`` a tuple/dict so
        # formatters that read them (uvicorn's access log) still work.
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_text(v) if isinstance(v, str) else v for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            message = None
        if message is not None and mask_text(message) != message:
            # a number split across arguments, or passed as an int: flatten and mask
            record.msg, record.args = mask_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


_LOGGERS = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "geogrid", "sqlalchemy")
_FILTER = MaskingFilter()


def _masking_factory(base):
    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        _FILTER.filter(record)
        return record

    factory._geogrid_masking = True
    return factory


def install_log_masking(logger_names=_LOGGERS) -> MaskingFilter:
    """Mask every log record of the process, and add a :class:`MaskingFilter` to every
    handler of the named loggers (idempotent).

    The record factory (:func:`logging.setLogRecordFactory`) masks each record as it is
    made, whatever logger it comes from and whichever handler writes it: a filter on a
    handler misses records of loggers configured later, and a filter on a logger misses
    records that propagate up from its children (``geogrid.api`` -> ``geogrid``) and
    Python's last-resort stderr handler.  The handler filters stay as a second line.
    """
    if not getattr(logging.getLogRecordFactory(), "_geogrid_masking", False):
        logging.setLogRecordFactory(_masking_factory(logging.getLogRecordFactory()))
    existing = None
    for name in logger_names:
        logger = logging.getLogger(name)
        targets = list(logger.handlers) or [logger]
        for target in targets:
            for f in target.filters:
                if isinstance(f, MaskingFilter):
                    existing = f
                    break
            else:
                existing = existing or MaskingFilter()
                target.addFilter(existing)
    return existing or MaskingFilter()
