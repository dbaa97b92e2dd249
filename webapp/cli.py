"""``flask --app webapp …`` commands: load the sample event, rank an event, create accounts."""
from __future__ import annotations

import secrets
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .db import db
from .models import Event, Job
from .visibility import ROLES

SAMPLE_NAME = "示例：军民科技合作项目对接会"


@click.command("load-sample")
@click.option("--name", default=SAMPLE_NAME, show_default=True, help="Event name (an existing one is refreshed).")
@click.option("--rank/--no-rank", default=True, show_default=True, help="Precompute suggestions now.")
@with_appcontext
def load_sample_command(name, rank):
    """Create the sample event from the bundled data/needs.csv and data/capabilities.csv."""
    from .services.events import load_sample

    event = load_sample(name)
    click.echo(f"event {event.id}: {event.name}")
    _demo_accounts(event)
    if rank:
        _rank(event)


def _demo_accounts(event):
    """Create (or reset the passwords of) a demo administrator and the sample event's organiser; print them."""
    from sqlalchemy import select

    from .models import OrganiserEvent, User
    from .services.accounts import create_user, hash_password, revoke_sessions

    for username, role in (("admin", "admin"), ("organiser", "organiser")):
        password = secrets.token_urlsafe(12)
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            create_user(username, password, role, event_ids=[event.id] if role == "organiser" else ())
        else:
            user.password_hash = hash_password(password)
            revoke_sessions(user)  # a reset password logs out every existing session
            if role == "organiser" and db.session.get(OrganiserEvent, (user.id, event.id)) is None:
                db.session.add(OrganiserEvent(user_id=user.id, event_id=event.id))
            db.session.commit()
        click.echo(f"demo {role} account: username {username}  password {password}")


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", default=None, help="Organisation name (required for institute and enterprise members).")
@click.option("--event", "events", type=int, multiple=True, help="Event id an organiser runs (repeatable).")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from the first line of stdin.")
@with_appcontext
def create_user_command(username, role, org, events, password_stdin):
    """Create an account; the password is read from stdin so it stays out of shell history."""
    from .services.accounts import create_user

    password = sys.stdin.readline().rstrip("\r\n")
    for event_id in events:
        if db.session.get(Event, event_id) is None:
            raise click.ClickException(f"no event {event_id}")
    try:
        user = create_user(username, password, role, org=org, event_ids=events)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    from . import audit

    audit.record("user_created", user.username, f"role={role} (cli)", user=None)
    click.echo(f"created {role} {user.username}")


@click.command("rank-event")
@click.argument("event_id", type=int)
@with_appcontext
def rank_event_command(event_id):
    """Compute and store the suggestions of EVENT_ID (waits for the background job)."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise click.ClickException(f"no event {event_id}")
    _rank(event)


def _rank(event):
    from .services.ranking import start_ranking

    job = start_ranking(event)
    current_app.extensions["matcher_jobs"].wait()
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    if job.status != "done":
        raise click.ClickException(f"ranking failed: {job.error}")
    click.echo(f"ranked event {event.id}: suggestions stored")


@click.command("expire-library")
@with_appcontext
def expire_library_command():
    """Mark library items past their expiry 已过期 and remind owners of items expiring within 14 days (run daily)."""
    from .services.library import expire_due

    expired, reminded = expire_due()
    click.echo(f"{expired} items expired, {reminded} reminders written")


@click.command("rebuild-market-search")
@with_appcontext
def rebuild_market_search_command():
    """Rebuild the catalogue's word index from the listed library items (SQLite; a repair, never needed in use)."""
    from .db import db
    from .services import market_search

    connection = db.session.connection()
    if not market_search.supported(connection):
        raise click.ClickException("the word index exists on SQLite only; other databases search with LIKE")
    count = market_search.rebuild(connection)
    db.session.commit()
    click.echo(f"{count} listed items indexed")


def init_app(app):
    app.cli.add_command(expire_library_command)
    app.cli.add_command(rebuild_market_search_command)
    app.cli.add_command(load_sample_command)
    app.cli.add_command(rank_event_command)
    app.cli.add_command(create_user_command)
