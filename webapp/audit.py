"""The append-only audit log: logins, views of restricted items, imports, exports, decisions, schedules.

Rows are only ever inserted. The ORM refuses to flush a changed or deleted
``AuditEntry`` and refuses UPDATE/DELETE statements on the table; the migration adds
database triggers that abort the same statements from any other client.
"""
from __future__ import annotations

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from .db import db
from .models import AuditEntry


class AppendOnlyError(RuntimeError):
    """An attempt to change or delete an audit log row."""


def record(action, target="", detail="", *, user=False):
    """Append one entry for the current user and address and commit it.

    Parameters
    ----------
    action : str
        E.g. "login", "login_failed", "view_restricted", "export", "import", "decision", "schedule".
    target, detail : str
    user : User or None, optional
        Whom to record; by default the request's logged-in user.
    """
    if user is False:
        user = g.get("user") if has_request_context() else None
    entry = AuditEntry(action=action[:40], target=str(target)[:300], detail=str(detail),
                       user_id=user.id if user is not None else None,
                       username=user.username if user is not None else "",
                       remote_addr=(request.remote_addr or "")[:64] if has_request_context() else "cli")
    db.session.add(entry)
    db.session.commit()
    return entry


def _refuse_changes(session, _flush_context, _instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("audit log is append-only")


def _refuse_statements(state):
    if (state.is_update or state.is_delete) and any(
            m.class_ is AuditEntry for m in state.all_mappers):
        raise AppendOnlyError("audit log is append-only")


def init_app(app):
    if not event.contains(Session, "before_flush", _refuse_changes):
        event.listen(Session, "before_flush", _refuse_changes)
        event.listen(Session, "do_orm_execute", _refuse_statements)
