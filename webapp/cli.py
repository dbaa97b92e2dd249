"""``flask --app webapp …`` commands: load the sample event, rank an event."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .db import db
from .models import Event, Job

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
    if rank:
        _rank(event)


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


def init_app(app):
    app.cli.add_command(load_sample_command)
    app.cli.add_command(rank_event_command)
