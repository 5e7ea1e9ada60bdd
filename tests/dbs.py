"""The databases tests run against: a SQLite file, or a throwaway PostgreSQL server.

A test module that says ``pytestmark = pytest.mark.usefixtures("db_backend")``
runs each of its tests twice, once on SQLite and once on PostgreSQL; the
helpers that make a test database (:func:`new_db`) follow the backend of the
test in progress.

PostgreSQL is the server of ``AUDITOR_TEST_PG_URL`` (a URL of a database whose
user may create databases) or else one started for the session: ``initdb`` in
a temp dir owned by an unprivileged user (initdb refuses root), listening on
127.0.0.1 only, stopped and deleted at the end. Where neither works the
PostgreSQL half is skipped with the reason, and fails under CI.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PG_ENV = "AUDITOR_TEST_PG_URL"
_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


@dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on."""

    url: str  # postgresql://user@host:port/ (no database)
    admin_db: str = "postgres"
    created: set[str] = field(default_factory=set)

    def database(self, name: str) -> str:
        """The URL of database name, created (empty) the first time it is asked for."""
        if name not in self.created:
            import psycopg

            with psycopg.connect(self.url + self.admin_db, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
            self.created.add(name)
        return self.url + name


_state: dict[str, PgServer | None] = {"pg": None}


def current_pg() -> PgServer | None:
    """The server of the test in progress when it runs on PostgreSQL, else None."""
    return _state["pg"]


def new_db(tmp_path: Path, name: str) -> str:
    """A database for this test: a SQLite file under tmp_path, or a PostgreSQL database.

    The same (tmp_path, name) gives the same database again, as the same file would.
    """
    pg = current_pg()
    if pg is None:
        return str(tmp_path / name)
    digest = hashlib.sha1(f"{tmp_path}/{name}".encode()).hexdigest()[:20]
    return pg.database(f"t_{digest}")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip (on a developer machine) or fail (under CI) a test that needs PostgreSQL."""
    msg = f"PostgreSQL needed: {reason}"
    if _in_ci():
        pytest.fail(msg + " (CI must run the PostgreSQL tests)", pytrace=False)
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def start_server(base: Path) -> tuple[PgServer, list[str]]:
    """initdb + pg_ctl start under base; (server, the command that stops it)."""
    if not _BIN_DIRS:
        raise RuntimeError("no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)")
    bin_dir = _BIN_DIRS[0]
    user = None
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to an unprivileged user
        user = "postgres" if _user_exists("postgres") else "nobody"
        shutil.chown(base, user=user)
    data, sock = base / "data", base / "sock"
    run = _as_user
    subprocess.run(run(["mkdir", "-p", str(sock)], user), check=True)
    subprocess.run(run([str(bin_dir / "initdb"), "-D", str(data), "-U", "auditor", "-A", "trust",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], user),
                   check=True, capture_output=True, text=True)
    port = _free_port()
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c max_connections=400 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    subprocess.run(run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
                        str(base / "log"), "-w", "-t", "60", "start"], user),
                   check=True, capture_output=True, text=True)
    stop = run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user)
    return PgServer(f"postgresql://auditor@127.0.0.1:{port}/"), stop


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the session (see the module docstring)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install -e '.[dev]')")
    external = os.environ.get(PG_ENV)
    if external:
        base_url, _, db = external.rpartition("/")
        yield PgServer(base_url + "/", admin_db=db or "postgres")
        return
    base = Path(tempfile.mkdtemp(prefix="auditor-pg-"))
    base.chmod(0o755)
    try:
        server, stop = start_server(base)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or ""
        shutil.rmtree(base, ignore_errors=True)
        unavailable(f"cannot start a server: {e} {detail.strip()[-300:]}")
    try:
        yield server
    finally:
        subprocess.run(stop, check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs a test on SQLite and again on PostgreSQL; new_db follows it.

    The connections a PostgreSQL test opened are closed at its end: the
    engines the CLI commands make in-process are dropped without dispose(),
    and psycopg warns about a connection garbage-collected open.
    """
    if request.param != "postgresql":
        yield request.param
        return
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    opened: list[object] = []

    def track(dbapi_conn: object, _record: object) -> None:
        opened.append(dbapi_conn)

    _state["pg"] = request.getfixturevalue("pg_server")
    event.listen(Pool, "connect", track)
    try:
        yield request.param
    finally:
        _state["pg"] = None
        event.remove(Pool, "connect", track)
        for conn in opened:
            conn.close()  # type: ignore[attr-defined]


def row_counts(db: str) -> dict[str, int]:
    """Rows of a test database (a SQLite path or a URL), SQLite's integrity checked first."""
    from sqlalchemy import create_engine, text

    from auditor.store.engine import database_url

    engine = create_engine(database_url(db))
    try:
        with engine.connect() as con:
            if engine.dialect.name == "sqlite":
                assert con.execute(text("PRAGMA integrity_check")).scalar() == "ok"

            def one(sql: str) -> int:
                return int(con.execute(text(sql)).scalar() or 0)

            return {
                "recordings": one("SELECT COUNT(*) FROM recording"),
                "distinct_paths": one("SELECT COUNT(DISTINCT path) FROM recording"),
                "transcripts": one("SELECT COUNT(*) FROM transcript"),
                "analyses": one("SELECT COUNT(*) FROM analysis"),
                "done": one("SELECT COUNT(*) FROM recording WHERE status='done'"),
            }
    finally:
        engine.dispose()
