"""A per-process cache of rendered GET responses, keyed by the event's ``data_version``.

Every write to an event's records bumps ``Event.data_version`` (:mod:`webapp.changes`), so a
cached page is never stale. Nothing per-session is ever shared: entries are per user (pages
carry the user's name and their rights), the session's CSRF token is cut out of the stored
body, however the page rendered it, and put back for each response, and nothing is cached
while flash messages wait.
"""
from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import OrderedDict

from flask import abort, current_app, make_response, request, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from sqlalchemy import bindparam, select

from .db import db
from .models import Event
from .services import inbox
from .visibility import current_viewer, event_clause

CSRF_PLACEHOLDER = "\x00csrf-token\x00"
#: Viewer → its prepared "version of a visible event, and unread notices" statement (built once per viewer).
_STATES = {}


class PageCache:
    """LRU of ``key → (body bytes, status, content type)`` bounded by total size."""

    def __init__(self, max_bytes):
        self.max_bytes, self.size = max_bytes, 0
        self.entries = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key, entry):
        with self.lock:
            if key in self.entries:
                self.size -= len(self.entries.pop(key)[0])
            self.entries[key] = entry
            self.size += len(entry[0])
            while self.size > self.max_bytes and self.entries:
                _key, (body, _status, _type) = self.entries.popitem(last=False)
                self.size -= len(body)

    def clear(self):
        with self.lock:
            self.entries.clear()
            self.size = 0


def cached(view):
    """Serve a GET view from the page cache when the event's data has not changed."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        cache = current_app.extensions["page_cache"]
        if cache is None or session.get("_flashes"):
            return view(*args, **kwargs)
        event_id, viewer = kwargs["event_id"], current_viewer()
        state = _visible_state(viewer, event_id)
        if state is None:  # no such event, or one the viewer may not open: the same 404
            abort(404)
        version, unread = state
        # Per user: pages show the user's name and what their rights allow. The date: a qualification
        # that expires at midnight changes what pages show.
        key = (request.endpoint, request.full_path, str(get_locale()), event_id, version, viewer.user_id,
               viewer.cache_key, dt.date.today(), unread)  # the header shows the unread count
        entry = cache.get(key)
        if entry is None:
            response = make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.direct_passthrough:
                return response
            body = response.get_data().replace(generate_csrf().encode(), CSRF_PLACEHOLDER.encode())
            entry = (body, response.status_code, response.content_type)
            cache.put(key, entry)
        body, status, content_type = entry
        return _fill(current_app.response_class(body, status=status, content_type=content_type))
    return wrapper


def _visible_state(viewer, event_id):
    """``(data_version, unread notices)`` when the viewer may open the event, else None.

    One prepared Core query on a pooled connection (the version, :func:`event_clause` and
    :func:`inbox.unread_query` together): a cache hit needs no ORM query of its own.
    """
    statement = _STATES.get(viewer)
    if statement is None:
        if len(_STATES) >= 10_000:
            _STATES.clear()
        statement = _STATES[viewer] = select(Event.data_version, inbox.unread_query(viewer)).where(
            Event.id == bindparam("event_id"), event_clause(viewer, Event.id))
    with db.engine.connect() as connection:
        return connection.execute(statement, {"event_id": event_id}).first()


def _fill(response):
    body = response.get_data()
    marker = CSRF_PLACEHOLDER.encode()
    if marker in body:
        response.set_data(body.replace(marker, generate_csrf().encode()))
    return response


def init_app(app):
    size = app.config["PAGE_CACHE_BYTES"]
    app.extensions["page_cache"] = PageCache(size) if size else None
