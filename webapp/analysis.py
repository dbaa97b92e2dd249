"""Analysts' frames from the web app's database, in Python (a notebook), without the web server.

>>> from webapp import analysis
>>> with analysis.open_database("instance/matcher.sqlite") as database:
...     viewer = database.viewer("analyst")          # an account: its role decides what every frame holds
...     report = database.event_report(viewer, 1)    # ReportFrames: signed, amounts, funnel, enterprises, ...

Every frame comes from the service code the pages use (:mod:`webapp.services.reports`,
:mod:`webapp.services.frames`, :mod:`webapp.services.deals`), so its numbers are the web report's, and
the viewer is an argument as everywhere else: an analyst account gets what an analyst sees in the web
app (all needs, 公开 capabilities, no deal amounts, no invitation lists), an organiser account its
events, :data:`webapp.visibility.SYSTEM` everything (on purpose). ``matcher`` itself stays free of the
web app (STYLE: no Flask in the engine); this module is the web app's side of the notebook API.

Opening a database reads it: nothing is migrated and no job bookkeeping runs, so it is safe beside a
running server; a database whose schema is older than the code is refused with the command that
upgrades it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import tempfile
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from matcher import DOMAINS
from matcher.errors import InputError

from .visibility import SYSTEM, Viewer

__all__ = ["SYSTEM", "Database", "build_sample_database", "open_database"]
#: Name of the sample event :func:`build_sample_database` creates.
SAMPLE_EVENT = "示例：军民科技合作项目对接会"
#: Days after the sample event by which every sample deal is signed and registered (data/pipeline.csv).
SAMPLE_DEAL_DAYS = 40


@contextlib.contextmanager
def open_database(location):
    """Open the web app's database for reading frames; use as a context manager.

    Parameters
    ----------
    location : str or os.PathLike
        An existing SQLite file (the instance folder's ``matcher.sqlite``), or a SQLAlchemy URL
        (``postgresql+psycopg://…``).

    Yields
    ------
    Database

    Raises
    ------
    InputError
        No such file, or its schema is not the code's (run ``flask --app webapp db upgrade``).

    Examples
    --------
    >>> with open_database("instance/matcher.sqlite") as database:
    ...     organisations = database.organisations(database.viewer("analyst"))
    """
    from . import create_app
    from .db import db

    uri = str(location)
    if "://" not in uri:
        path = Path(location).expanduser().resolve()
        if not path.is_file():
            raise InputError(f"no database file {str(location)!r}: give the web app's SQLite file "
                             f"(its instance folder's matcher.sqlite) or a database URL")
        uri = f"sqlite:///{path}"
    with tempfile.TemporaryDirectory(prefix="matcher-analysis-") as instance:
        app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "INSTANCE_PATH": instance, "ANALYSIS": True,
                          "AUTO_MIGRATE": False, "WARM_UP_MODEL": False, "SECRET_KEY": secrets.token_hex(16)})
        try:
            with app.app_context():
                _check_schema(db, str(location))
                yield Database(app)
                db.session.remove()
        finally:
            app.extensions["matcher_jobs"].shutdown()
            with app.app_context():
                db.engine.dispose()


def _check_schema(db, location):
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from .db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    expected = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as connection:
        found = set(MigrationContext.configure(connection).get_current_heads())
    if found != expected:
        raise InputError(f"{location}: the database's schema is at revision {sorted(found) or 'none'}, the code's at "
                         f"{sorted(expected)}; run `flask --app webapp db upgrade` (or start the server once) first")


class Database:
    """A database opened by :func:`open_database`: frames for a viewer, each from the web app's own services.

    Every method takes the viewer first (a :class:`webapp.visibility.Viewer`, e.g. from :meth:`viewer`),
    and dates as ``datetime.date`` or ``YYYY-MM-DD`` text.
    """

    def __init__(self, app):
        self.app = app

    def viewer(self, username):
        """The :class:`~webapp.visibility.Viewer` of an account (its role, organisation, events, qualification).

        Raises
        ------
        InputError
            No active account of that name.
        """
        from .db import db
        from .models import User
        from .visibility import viewer_for

        user = db.session.scalar(select(User).where(User.username == str(username)))
        if user is None or not user.active:
            raise InputError(f"no active account {username!r} in this database")
        return viewer_for(user)

    def events(self, viewer):
        """Events the viewer may open: ``event_id, name, date, venue``, by date."""
        from . import visibility
        from .db import db
        from .models import Event

        rows = db.session.scalars(select(Event).where(visibility.event_clause(_viewer(viewer), Event.id))
                                  .order_by(Event.date, Event.id)).all()
        return pd.DataFrame({"event_id": [e.id for e in rows], "name": [e.name for e in rows],
                             "date": pd.to_datetime([e.date for e in rows]), "venue": [e.venue for e in rows]})

    def organisations(self, viewer, *, on=None):
        """Organisations with their profile and the tiers in force on ``on`` (default today); see
        :func:`webapp.services.frames.organisations_frame`."""
        from .services import frames

        return frames.organisations_frame(_viewer(viewer), on=_day(on, "on"))

    def tiers(self, viewer, *, on=None):
        """Tier memberships with their status on ``on``; see :func:`webapp.services.frames.tiers_frame`."""
        from .services import frames

        return frames.tiers_frame(_viewer(viewer), on=_day(on, "on"))

    def deals(self, viewer, *, event_ids=None):
        """Deals with stage, contract type and amount as the viewer may see them; see
        :func:`webapp.services.frames.deals_frame`."""
        from .services import frames

        return frames.deals_frame(_viewer(viewer), event_ids=event_ids)

    def event_report(self, viewer, event_id):
        """The frames of one event's report (:class:`webapp.services.reports.ReportFrames`).

        Raises
        ------
        InputError
            No such event, or one the viewer may not open (the same answer, as in the web app).
        """
        from .db import db
        from .models import Event
        from .services import reports
        from .visibility import can_see_event

        viewer = _viewer(viewer)
        event = db.session.get(Event, int(event_id))
        if event is None or not can_see_event(viewer, event.id):
            raise InputError(f"event {event_id} does not exist or {viewer.username or viewer.role} may not open it")
        return reports.event_frames(viewer, event)

    def period_report(self, viewer, start, end):
        """The frames of the period report over the events dated ``start``–``end`` that the viewer may open."""
        from .services import reports

        start, end = _day(start, "start"), _day(end, "end")
        if end < start:
            raise InputError(f"end {end} is before start {start}")
        return reports.period_frames(_viewer(viewer), start, end)


def _viewer(viewer):
    if not isinstance(viewer, Viewer):
        raise InputError(f"viewer must be a webapp.visibility.Viewer (Database.viewer(username) or "
                         f"webapp.analysis.SYSTEM); got {type(viewer).__name__}")
    return viewer


def _day(value, name):
    if value is None and name == "on":
        return dt.date.today()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{name} must be a date or YYYY-MM-DD; got {value!r}") from None


def build_sample_database(path, *, event_date=None):
    """Write a new SQLite database holding the sample event and its after-life, to try the frames on.

    The sample event (``data/needs.csv``, ``data/capabilities.csv``) dated ``event_date``, ranked on
    the lexical signals only (no model to build), then :func:`webapp.services.sample.load_sample_pipeline`:
    the sample organisation database, the top suggestion of each need accepted, meetings planned, the
    deals of ``data/pipeline.csv`` and the invitations of ``data/invitations.csv``. Accounts: ``analyst``
    (role analyst) and ``organiser`` (the event's), with random passwords (for :meth:`Database.viewer`).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.sqlite`` file to create; it must not exist.
    event_date : datetime.date, optional
        The event's date, at least :data:`SAMPLE_DEAL_DAYS` days ago (deals are signed and registered up to
        that many days after it); default 60 days ago. Tiers in force are those of ``data/organisations.csv``
        on that day.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        ``path`` exists, or ``event_date`` is less than :data:`SAMPLE_DEAL_DAYS` days ago.

    Examples
    --------
    >>> path = build_sample_database("/tmp/sample.sqlite")
    >>> with open_database(path) as database:
    ...     report = database.event_report(database.viewer("analyst"), 1)
    """
    from . import create_app
    from .db import db
    from .services import events, sample
    from .services.accounts import create_user
    from .services.ranking import start_ranking

    path = Path(path).expanduser().resolve()
    if path.exists():
        raise InputError(f"{path} exists; build_sample_database writes a new file")
    event_date = _day(event_date, "event_date") if event_date is not None else dt.date.today() - dt.timedelta(60)
    if event_date > dt.date.today() - dt.timedelta(SAMPLE_DEAL_DAYS):
        raise InputError(f"event_date must be at least {SAMPLE_DEAL_DAYS} days ago (the sample deals are signed and "
                         f"registered up to then); got {event_date}")
    with tempfile.TemporaryDirectory(prefix="matcher-sample-") as instance:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "INSTANCE_PATH": instance,
                          "WARM_UP_MODEL": False, "MATCHER_WEIGHTS": {"semantic": 0.0},
                          "SECRET_KEY": secrets.token_hex(16)})
        try:
            with app.app_context():
                event = events.create({"name": SAMPLE_EVENT, "date": event_date,
                                       "venue": "区科技局报告厅", "tracks": list(DOMAINS[:5]), "slots": 8,
                                       "slot_minutes": 20, "start_time": "09:00", "tables": 20, "max_meetings": 6})
                events.load_sample(SAMPLE_EVENT)
                sample._wait(start_ranking(event))
                sample.load_sample_pipeline(event, events.sample_data_dir())
                for username, role in (("analyst", "analyst"), ("organiser", "organiser")):
                    create_user(username, secrets.token_urlsafe(16), role,
                                event_ids=[event.id] if role == "organiser" else ())
                db.session.remove()
        finally:
            app.extensions["matcher_jobs"].shutdown()
            with app.app_context():
                db.engine.dispose()
    return path
