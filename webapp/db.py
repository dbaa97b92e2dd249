"""Database wiring, following flaskr's ``db.py``: one ``db`` object, ``init_app`` registers the rest.

SQLite in the instance folder by default (WAL, foreign keys on), PostgreSQL
through ``DATABASE_URL``; the schema is owned by the Alembic migrations in
``webapp/migrations``, applied by ``flask --app webapp db upgrade`` and at start-up when
``AUTO_MIGRATE`` is true (``None``, the default, means: for SQLite only).
"""
from __future__ import annotations

from pathlib import Path

from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def database_uri(app, environ):
    """``DATABASE_URL`` when set (``postgres://`` is accepted), else SQLite in the instance folder."""
    url = environ.get("DATABASE_URL", "").strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return url or "sqlite:///" + str(Path(app.instance_path) / "matcher.sqlite")


def init_app(app):
    """Bind the database and migrations to ``app``; migrate when configured."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, include_name=include_name)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        auto = app.config["AUTO_MIGRATE"]
        if auto or (auto is None and db.engine.dialect.name == "sqlite"):
            upgrade(directory=MIGRATIONS_DIR)


def include_name(name, type_, _parent_names):
    """Alembic's filter of schema names: every table the models describe, not the FTS5 search index
    (a virtual table and its shadow tables that migration 0010 creates on SQLite)."""
    from .services.market_search import is_schema_object

    return not (type_ == "table" and name is not None and is_schema_object(name))


def _sqlite_pragmas(connection, _record):
    # WAL lets pages read while the background job writes; cascades need foreign keys on.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
