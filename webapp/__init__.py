"""Web app for organisers and participants of a docking event (军民科技合作项目对接会).

``create_app`` follows flaskr: defaults from a mapping, then ``instance/config.py``
(loaded silently) or ``test_config``, then extensions and one blueprint per concern.

Start it with the sample event::

    flask --app webapp load-sample
    waitress-serve --host 127.0.0.1 --port 5000 --call webapp:create_app
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

#: The largest id an ``int`` URL part (or form field naming a row) may carry.
MAX_RECORD_ID = 2**31 - 1
#: Blueprints under ``webapp/views``, each named like the service it calls (``webapp/services``).
BLUEPRINTS = ("site", "auth", "account", "admin", "qualifications", "organisations", "events", "outcomes", "deals",
              "reports", "targeting", "imports", "ranking", "suggestions", "pairs", "meeting_requests", "planning",
              "participation", "inbox", "roadshow", "exports", "search", "wishes", "event_day", "library", "market",
              "library_api", "calls", "calls_api", "api")


def create_app(test_config=None):
    """Create and configure the app.

    Parameters
    ----------
    test_config : dict, optional
        Overrides the defaults instead of ``instance/config.py`` (tests); ``INSTANCE_PATH``
        there (or the ``WEBAPP_INSTANCE_PATH`` environment variable) moves the instance folder.

    Returns
    -------
    flask.Flask
    """
    instance = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("WEBAPP_INSTANCE_PATH")
    app = Flask(__name__, instance_path=str(Path(instance).resolve()) if instance else None,
                instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=None,
        SQLALCHEMY_DATABASE_URI=None,
        AUTO_MIGRATE=None,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        UPLOAD_EXTENSIONS=(".csv", ".xlsx"),
        MATCHER_MODEL=None,
        MATCHER_WEIGHTS=None,
        MATCHER_CACHE_DIR=None,
        SUGGESTIONS_TOP_K=10,
        SCHEDULE_TIME_LIMIT=30.0,
        JOB_WORKERS=1,
        # Load the embedding model in the background at start-up (not in tests).
        WARM_UP_MODEL=True,
        # Opened by webapp.analysis to read frames beside a running server: no job bookkeeping at start-up.
        ANALYSIS=False,
        PAGE_CACHE_BYTES=64 * 1024 * 1024,
        SAMPLE_DATA_DIR=None,
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        # Secure cookies need HTTPS; WEBAPP_SESSION_COOKIE_SECURE=0 allows plain-http test servers.
        SESSION_COOKIE_SECURE=os.environ.get("WEBAPP_SESSION_COOKIE_SECURE", "1") != "0",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        LOGIN_MAX_FAILURES=5,
        LOGIN_WINDOW_SECONDS=15 * 60,
        PASSWORD_MIN_LENGTH=10,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        from .db import database_uri

        app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app, os.environ)
    _init_extensions(app)
    app.url_map.converters["int"] = RecordIdConverter  # before any route is added
    for name in BLUEPRINTS:
        module = __import__(f"{__name__}.views.{name}", fromlist=["bp"])
        # Every state-changing request needs a CSRF token, the API's included (X-CSRFToken header).
        app.register_blueprint(module.bp)
    return app


class RecordIdConverter(IntegerConverter):
    """``<int:…>`` within the database's integer range (32-bit on PostgreSQL): a larger id is a 404.

    Without the bound, ``/events/99999999999999999999`` reached the database and failed with an
    OverflowError (500).
    """

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_RECORD_ID)
        super().__init__(url_map, *args, **kwargs)


def _init_extensions(app):
    from flask_wtf.csrf import CSRFProtect

    from . import access, audit, cache, changes, cli, db, errors, i18n, reasons, state, ui  # noqa: F401 (changes)

    db.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    state.init_app(app)
    ui.init_app(app)
    reasons.init_app(app)
    cli.init_app(app)
    # Who is logged in is known before the CSRF check, so its error page still shows the user's header.
    access.init_app(app)
    CSRFProtect(app)
    audit.init_app(app)
    cache.init_app(app)


def _instance_secret(folder):
    """A random key kept in the instance folder, so sessions survive restarts without a shared default."""
    path = folder / "secret_key"
    if not path.is_file():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
