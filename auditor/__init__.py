"""auditor: an offline, speech-aware call-quality auditor for sales departments.

Heavy libraries (faster-whisper, spaCy, SQLAlchemy) are imported inside the
functions that need them, so that ``auditor --help`` stays instant.
"""

__version__ = "0.1.0"
