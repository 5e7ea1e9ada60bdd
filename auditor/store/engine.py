"""The engine and its dialect: open, create or migrate a database from a path or URL.

SQLite by default (WAL, busy timeout, so an overnight audit and a report can
run side by side); any SQLAlchemy URL works. PostgreSQL is tested like SQLite:
``postgresql://user@host/db`` is driven by psycopg 3 (the extra
``auditor[postgres]``). An engine factory, never a module-level engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine

from auditor.errors import StoreError
from auditor.store.migrations import migrate
from auditor.store.tables import SCHEMA_VERSION, Meta


def database_url(db: str) -> str:
    """A path becomes a sqlite URL; anything with '://' is taken as a URL.

    A plain ``postgresql://`` (or ``postgres://``) URL is driven by psycopg 3,
    the driver the extra ``auditor[postgres]`` installs, rather than
    SQLAlchemy's default psycopg2.
    """
    if "://" in db:
        scheme, rest = db.split("://", 1)
        if scheme in ("postgresql", "postgres"):
            return f"postgresql+psycopg://{rest}"
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def shown_url(db: str) -> str:
    """The database as it may be printed: a URL's password masked."""
    if "://" not in db:
        return db
    try:
        from sqlalchemy.engine import make_url

        return make_url(db).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: nothing to mask
        return db


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(db: str) -> Engine:
    """Open (and create or migrate) the database; an engine factory, no globals."""
    url = database_url(db)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:" and not Path(path).parent.exists():
            raise StoreError(f"database folder does not exist: {Path(path).parent}")
    elif url.startswith("postgresql"):
        kwargs["pool_pre_ping"] = True  # a server restarted overnight is reconnected to
    try:
        engine = create_engine(url, **kwargs)
    except ModuleNotFoundError as e:
        hint = " (pip install 'auditor[postgres]')" if "psycopg" in str(e) else ""
        raise StoreError(f"cannot open database {shown_url(db)!r}: {e}{hint}") from None
    except Exception as e:  # bad URL, missing driver
        raise StoreError(f"cannot open database {shown_url(db)!r}: {e}") from None
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    init_schema(engine)
    return engine


def init_schema(engine: Engine) -> None:
    """Create tables, record or check the schema version, run migrations."""
    try:
        _create_tables(engine)
        with Session(engine) as s:
            row = s.get(Meta, "schema_version")
            if row is None:
                s.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
                try:
                    s.commit()
                except IntegrityError:  # a concurrent run recorded it first
                    s.rollback()
                return
            current = int(row.value)
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"database schema version {current} is newer than this auditor "
                f"understands ({SCHEMA_VERSION}); upgrade auditor"
            )
        if current < SCHEMA_VERSION:
            migrate(engine, current, SCHEMA_VERSION)
    except StoreError:
        raise
    except Exception as e:
        raise StoreError(f"cannot use database: {str(e).splitlines()[0]}") from None


def _create_tables(engine: Engine, attempts: int = 5) -> None:
    """create_all, tolerating a concurrent run that creates the same tables first.

    SQLite says "already exists"; PostgreSQL says so too, or trips over the
    unique index of its catalogue (IntegrityError) when both create at once.
    """
    from sqlalchemy.exc import OperationalError, ProgrammingError

    for attempt in range(attempts):
        try:
            SQLModel.metadata.create_all(engine)
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise
        except (OperationalError, ProgrammingError) as e:
            if "already exists" not in str(e) or attempt == attempts - 1:
                raise


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s
