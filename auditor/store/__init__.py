"""The store: tables, engine and dialect, migrations, repositories, the search index.

``from auditor import store`` gives the tables and the repository functions
the other layers use (``store.make_engine``, ``store.Recording``,
``store.transcripts_for``...); the search index (:mod:`auditor.store.search_index`)
is imported on its own, it needs spaCy. Imports analysis and lower layers only.
"""

from auditor.store.accounts import (
    ROLES,
    count_accounts,
    delete_account,
    find_account,
    list_accounts,
    save_account,
)
from auditor.store.analyses import find_analysis, save_analysis
from auditor.store.engine import database_url, init_schema, make_engine, session
from auditor.store.recordings import manager_names
from auditor.store.reviews import latest_reviews, latest_reviews_and_counts
from auditor.store.tables import (
    SCHEMA_VERSION,
    Account,
    Analysis,
    Meta,
    Recording,
    Review,
    Transcript,
    utcnow,
)
from auditor.store.transcripts import find_transcript, save_transcript, transcripts_for

__all__ = [
    "ROLES", "SCHEMA_VERSION", "Account", "Analysis", "Meta", "Recording", "Review", "Transcript",
    "count_accounts", "database_url", "delete_account", "find_account", "find_analysis",
    "find_transcript", "init_schema", "latest_reviews", "latest_reviews_and_counts",
    "list_accounts", "make_engine", "manager_names", "save_account", "save_analysis",
    "save_transcript", "session", "transcripts_for", "utcnow",
]
