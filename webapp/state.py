"""Process-wide state, loaded lazily and cached on ``app.extensions`` (like flaskr's ``get_db``).

* :func:`get_embedder` — the configured :class:`matcher.Embedder`, loaded once.
* :class:`JobRunner` — the app's thread pool for ranking and scheduling jobs;
  progress lives in the ``jobs`` table so any request (or process) can read it.
"""
from __future__ import annotations

import atexit
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import current_app

from matcher import Embedder, MatcherError

_EMBEDDER_LOCK = threading.Lock()
#: The error of a job that a restart interrupted.
INTERRUPTED = "interrupted"


def get_embedder():
    """The app's embedder, or None when ``MATCHER_WEIGHTS`` switches the semantic signal off."""
    app = current_app._get_current_object()
    weights = app.config["MATCHER_WEIGHTS"] or {}
    if weights.get("semantic", 1.0) == 0:
        return None
    with _EMBEDDER_LOCK:
        if "matcher_embedder" not in app.extensions:
            embedder = Embedder(app.config["MATCHER_MODEL"], cache_dir=app.config["MATCHER_CACHE_DIR"],
                                show_progress=False)
            _ = embedder.dim_  # load now, under the lock, so two threads never load the model twice
            app.extensions["matcher_embedder"] = embedder
        return app.extensions["matcher_embedder"]


class JobRunner:
    """Runs job functions in a small thread pool, recording status and progress in the database.

    Parameters
    ----------
    app : flask.Flask
    max_workers : int
        One worker keeps jobs of an event in submission order and the model on one thread.
    """

    def __init__(self, app, max_workers=1):
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="matcher-job")
        self.futures = {}

    def submit(self, job_id, function):
        """Run ``function(job, progress)`` for the queued job ``job_id``; return its future."""
        future = self.executor.submit(self._run, job_id, function)
        self.futures[job_id] = future
        return future

    def wait(self, timeout=None):
        """Block until every submitted job has finished (tests and the CLI use this)."""
        for future in list(self.futures.values()):
            future.result(timeout=timeout)

    def shutdown(self):
        self.executor.shutdown(wait=True, cancel_futures=True)

    def _run(self, job_id, function):
        from .db import db
        from .errors import ValidationFailed
        from .models import Job

        with self.app.app_context():
            job = db.session.get(Job, job_id)
            job.status, job.started_at, job.progress = "running", _now(), 1
            db.session.commit()

            def progress(percent, stage=""):
                job.progress, job.stage = int(percent), stage
                db.session.commit()

            try:
                function(job, progress)
            except (MatcherError, ValidationFailed) as exc:
                db.session.rollback()
                job.status, job.error = "failed", exc.description if isinstance(exc, ValidationFailed) else str(exc)
            except Exception:  # the job boundary: log the traceback, show a short message
                db.session.rollback()
                self.app.logger.exception("job %s (%s) failed", job_id, job.kind)
                job.status, job.error = "failed", "internal error; see the server log"
            else:
                job.status, job.progress = "done", 100
            job.finished_at = _now()
            db.session.commit()
            db.session.remove()


def warm_up(app):
    """Load the embedding model in a background thread, so the first ranking does not wait for it.

    ``app.extensions["matcher_model_state"]`` says "loading", "ready" or "failed" meanwhile.
    """
    def load():
        with app.app_context():
            try:
                get_embedder()
            except Exception:  # reported on the first ranking, which loads it again
                app.logger.exception("loading the embedding model in the background failed")
                app.extensions["matcher_model_state"] = "failed"
            else:
                app.extensions["matcher_model_state"] = "ready"

    app.extensions["matcher_model_state"] = "loading"
    threading.Thread(target=load, name="matcher-model-warm-up", daemon=True).start()


def init_app(app):
    """Create the app's job runner and close it when the process exits.

    Jobs a previous process left queued or running can never finish: they are marked failed
    (``error = "interrupted"``) so their pages offer to start again. Not for an app opened for analysis
    (``ANALYSIS``, :mod:`webapp.analysis`): the server may be running those jobs right now.
    """
    if not app.config["ANALYSIS"]:
        _fail_interrupted_jobs(app)
    if app.config["WARM_UP_MODEL"] and not app.testing and (app.config["MATCHER_WEIGHTS"] or {}).get("semantic", 1):
        warm_up(app)
    runner = JobRunner(app, max_workers=app.config["JOB_WORKERS"])
    app.extensions["matcher_jobs"] = runner
    atexit.register(runner.shutdown)


def get_jobs():
    return current_app.extensions["matcher_jobs"]


def _now():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _fail_interrupted_jobs(app):
    from sqlalchemy import inspect, select

    from .db import db
    from .models import Job

    with app.app_context():
        if inspect(db.engine).has_table("jobs"):
            for job in db.session.scalars(select(Job).where(Job.status.in_(("queued", "running")))):
                job.status, job.error = "failed", INTERRUPTED
            db.session.commit()
