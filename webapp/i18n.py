"""Languages: Chinese first (zh_Hans), English switchable, with zh-CN dates and numbers.

Message ids are the Chinese text; ``translations/en`` holds the English
catalogue as a ``.po`` file, compiled to ``.mo`` in the instance folder at
start-up whenever it is missing or older than the ``.po``, so a fresh
``pip install -e .`` (or a wheel) works without a build step.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_request_context, request, session
from flask_babel import Babel, format_date, format_datetime, format_decimal, format_percent, get_locale

SOURCE_DIR = Path(__file__).resolve().parent / "translations"
#: Language code → name shown in the switcher (each in its own language).
LANGUAGES = {"zh_Hans": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_Hans"

babel = Babel()


def select_locale():
    """The session's choice, else the language cookie, else Chinese (an intranet default, not Accept-Language).

    Outside a request (CLI, background jobs) the default language is used.
    """
    if not has_request_context():
        return DEFAULT_LOCALE
    code = session.get("lang") or request.cookies.get("lang")
    return code if code in LANGUAGES else DEFAULT_LOCALE


def init_app(app):
    """Compile catalogues, configure Flask-Babel and register the formatting filters."""
    compiled = compile_catalogues(Path(app.instance_path) / "translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(date=_date, datetime=_datetime, number=_number, percent=_percent)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=lambda: str(get_locale()))


def compile_catalogues(target):
    """Compile every ``translations/<lang>/LC_MESSAGES/messages.po`` under ``target``.

    Falls back to a temporary folder when ``target`` cannot be written.

    Returns
    -------
    pathlib.Path
        The folder to use as Flask-Babel's translation directory.
    """
    try:
        return _compile_into(Path(target))
    except OSError:
        return _compile_into(Path(tempfile.gettempdir()) / "matcher-webapp-translations")


def _compile_into(target):
    for po_path in SOURCE_DIR.glob("*/LC_MESSAGES/messages.po"):
        mo_path = target / po_path.relative_to(SOURCE_DIR).with_suffix(".mo")
        if mo_path.is_file() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as handle:
            catalogue = read_po(handle, locale=po_path.parts[-3])
        partial = mo_path.with_suffix(".mo.tmp")
        with partial.open("wb") as handle:
            write_mo(handle, catalogue)
        partial.replace(mo_path)
    return target


def _date(value, style="long"):
    return format_date(value, style) if isinstance(value, dt.date) else ""


def _datetime(value, style="short"):
    return format_datetime(value, style) if isinstance(value, dt.datetime) else ""


def _number(value, digits=None):
    if value is None:
        return ""
    if digits is None:
        return format_decimal(value)
    return format_decimal(value, format="#,##0." + "0" * digits)


def _percent(value):
    return "" if value is None else format_percent(value)
