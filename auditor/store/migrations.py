"""Ordered, additive schema migrations: a newer auditor upgrades an older database in place.

Each step takes the database from version N to N+1 and never drops data.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine


def _v1_quality(conn: Connection) -> None:
    """1 -> 2: per-channel speech coverage and dropped segments; each analysis's confidence."""
    conn.execute(text("ALTER TABLE transcript ADD COLUMN quality_json TEXT NOT NULL DEFAULT '{}'"))
    conn.execute(text("ALTER TABLE analysis ADD COLUMN confidence FLOAT NOT NULL DEFAULT 1.0"))


def _v2_path_sha(conn: Connection) -> None:
    """2 -> 3: a recording is unique by (path, sha256): masked paths may coincide."""
    conn.execute(text("DROP INDEX IF EXISTS ix_recording_path"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_recording_path ON recording (path)"))
    conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS ux_recording_path_sha256 "
                      "ON recording (path, sha256)"))


def _v3_score(conn: Connection) -> None:
    """3 -> 4: each analysis's checklist score and metrics; checklist items in reviews.

    Calls analysed before have no score until ``auditor rescore`` computes it.
    """
    _add_column(conn, "analysis", "score", "FLOAT")
    _add_column(conn, "analysis", "metrics_json", "TEXT NOT NULL DEFAULT '{}'")
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_analysis_score ON analysis (score)"))
    _add_column(conn, "review", "items_json", "TEXT NOT NULL DEFAULT '{}'")


def _v4_accounts(conn: Connection) -> None:
    """4 -> 5: the account table (made by create_all) and the account on each review."""
    _add_column(conn, "review", "account_id", "INTEGER REFERENCES account (id)")


def _add_column(conn: Connection, table: str, column: str, ddl: str) -> None:
    """ALTER TABLE ... ADD COLUMN, unless the table has the column already."""
    if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))


# version N -> the function that upgrades N to N+1
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_quality, 2: _v2_path_sha,
                                                       3: _v3_score, 4: _v4_accounts}


def migrate(engine: Engine, current: int, target: int) -> None:
    for version in range(current, target):
        step = MIGRATIONS.get(version)
        with engine.begin() as conn:
            if step is not None:
                step(conn)
            conn.execute(
                text("UPDATE meta SET value = :v WHERE key = 'schema_version'"),
                {"v": str(version + 1)},
            )
