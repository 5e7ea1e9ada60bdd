"""Shared fixtures: paths to the bundled fixtures, a temp database, the model cache.

``db_backend`` (tests/dbs.py) runs a test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditor.cli import app

from .dbs import db_backend, pg_server  # noqa: F401  (fixtures for every test module)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RECORDINGS = FIXTURES / "recordings"
CORPUS = FIXTURES / "corpus"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One assembled copy of the bundled model for the whole test session."""
    env = os.environ.get("AUDITOR_TEST_MODEL_CACHE")
    return Path(env) if env else tmp_path_factory.mktemp("model-cache")


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's auditor.toml or AUDITOR_* variables."""
    for key in list(os.environ):
        if key.startswith("AUDITOR_") and not key.startswith("AUDITOR_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


# --- the local audit of the fixtures, once per session (test_pipeline, test_cluster) ---


@dataclass
class Audited:
    root: Path
    db: Path
    exit_code: int
    summary: dict[str, Any]


def run_audit(root: Path, db: Path, model_cache: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app,
        ["audit", str(root), "--db", str(db), "--model-cache", str(model_cache),
         "--config", str(FIXTURES / "auditor.toml"), "--format", "json", *extra],
    )
    assert result.stdout.strip().startswith("{"), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture(scope="session")
def audited(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Audited:
    base = tmp_path_factory.mktemp("audit")
    root = base / "recordings"
    shutil.copytree(RECORDINGS, root)
    db = base / "audit.db"
    code, summary = run_audit(root, db, model_cache)
    return Audited(root, db, code, summary)
