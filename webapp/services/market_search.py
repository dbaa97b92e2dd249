"""Word search of the public catalogue: an SQLite FTS5 index of listed library items over jieba words.

FTS5's ``unicode61`` tokenizer splits text at spaces and punctuation only, so a Chinese sentence
would be one token. Each listed item's title, keywords, description and organisation are
therefore stored as their jieba search-mode words joined by spaces
(:func:`matcher.terms.index_words`: every word and the dictionary words inside it, so 碳化硅
is found in 碳化硅外延片), and a query is cut into words the same way
(:func:`matcher.terms.query_words`); every query word must occur, and hits are ordered by
FTS5's BM25 with the title weighted most.

The index holds listed items only (已发布 / 已对接). It is kept in step by a session hook
(:mod:`webapp.changes`) on every write to an item, in the writer's transaction, so publishing,
withdrawing, expiring or editing an item changes the index at once. The catalogue still
applies the visibility and listing clauses to every hit (:func:`webapp.services.market.search`),
so the index can never show an item that a visitor may not see, nor one past its expiry date.

On other databases (PostgreSQL) there is no index and the catalogue matches each word with LIKE.
"""
from __future__ import annotations

from sqlalchemy import Float, Integer, text

from matcher.terms import index_words, query_words

TABLE = "library_search"
COLUMNS = ("title", "keywords", "description", "org")
#: BM25 weight per column: a word in the title says most about an item, its organisation least.
WEIGHTS = (4.0, 2.0, 1.0, 0.5)
#: Query words used at most (the catalogue's text box takes 200 characters).
MAX_WORDS = 12
_LISTED = ("published", "matched")


def is_schema_object(name):
    """Whether a table name belongs to the FTS5 index (the virtual table and its shadow tables).

    Alembic's comparison of models and database skips them (``include_name`` in :mod:`webapp.db`).
    """
    return name == TABLE or name.startswith(TABLE + "_")


def supported(connection):
    return connection.dialect.name == "sqlite"


def create_index(connection):
    """Create the FTS5 table and fill it with the listed items (migration 0010)."""
    columns = ", ".join(COLUMNS)
    connection.exec_driver_sql(f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5({columns}, "
                               "tokenize = 'unicode61 remove_diacritics 2')")
    rows = connection.execute(text("SELECT id, title, keywords, description, org FROM library_items "
                                   "WHERE status IN ('published', 'matched')")).all()
    _insert(connection, rows)


def rebuild(connection):
    """Empty the index and fill it again from the listed items (``flask --app webapp rebuild-market-search``).

    Returns
    -------
    int
        Items indexed.
    """
    connection.exec_driver_sql(f"DELETE FROM {TABLE}")
    rows = connection.execute(text("SELECT id, title, keywords, description, org FROM library_items "
                                   "WHERE status IN ('published', 'matched')")).all()
    _insert(connection, rows)
    return len(rows)


def sync(connection, items):
    """Bring the index rows of ``items`` (LibraryItem objects, or ids of deleted ones) in step with them."""
    if not supported(connection):
        return
    ids = [item if isinstance(item, int) else item.id for item in items]
    if not ids:
        return
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        connection.exec_driver_sql(f"DELETE FROM {TABLE} WHERE rowid IN ({', '.join('?' * len(chunk))})",
                                   tuple(chunk))
    _insert(connection, [(item.id, item.title, item.keywords, item.description, item.org) for item in items
                         if not isinstance(item, int) and item.status in _LISTED])


def _insert(connection, rows):
    if rows:
        placeholders = ", ".join("?" * (len(COLUMNS) + 1))
        connection.exec_driver_sql(
            f"INSERT INTO {TABLE} (rowid, {', '.join(COLUMNS)}) VALUES ({placeholders})",
            [(row[0], *(" ".join(index_words(value or "")) for value in row[1:])) for row in rows])


def match_expression(query):
    """The FTS5 MATCH expression of a free-text query (every word, each quoted), or None without words."""
    words = query_words(query)[:MAX_WORDS]
    if not words:
        return None
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def hits(expression):
    """A subquery of the items matching ``expression``: columns ``item_id`` and ``rank`` (lower is better)."""
    weights = ", ".join(str(w) for w in WEIGHTS)
    return text(f"SELECT rowid AS item_id, bm25({TABLE}, {weights}) AS rank FROM {TABLE} "
                f"WHERE {TABLE} MATCH :expression").bindparams(expression=expression).columns(
        item_id=Integer, rank=Float).subquery("search_hits")
