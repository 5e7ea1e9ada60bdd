"""Web accounts: salted scrypt password hashes, adding and checking accounts.

Accounts live in the database (``auditor users add``) or in ``auditor.toml``
(``[accounts] anna = "reviewer:<hash>"``, the line ``auditor users hash``
prints); a database account wins over a config one of the same name.
Standard library only (``hashlib.scrypt``), so the ``users`` commands load no
web framework. A hash reads ``scrypt$n$r$p$salt$key`` (base64), so its cost
can be raised later without breaking stored accounts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from auditor import store
from auditor.errors import ConfigError

MIN_PASSWORD = 8
_N, _R, _P = 2**14, 8, 1  # ~16 MB and a few tens of ms per check
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")


@dataclass(frozen=True)
class User:
    """Who is using the app: an account, or the local user of a bind to 127.0.0.1."""

    name: str
    role: str  # reviewer | viewer
    account_id: int | None = None  # a database account; None for auditor.toml's and the local user
    local: bool = False  # the local user of an account-less app: nobody signed in

    @property
    def can_review(self) -> bool:
        return self.role == "reviewer"


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# Checked against when the name is unknown, so both answers take as long.
_DUMMY = hash_password("not a password", b"\0" * 16)


@dataclass(frozen=True)
class ConfigAccount:
    role: str
    password_hash: str


def config_accounts(accounts: dict[str, str]) -> dict[str, ConfigAccount]:
    """The ``[accounts]`` of auditor.toml, checked: name -> role and hash."""
    out: dict[str, ConfigAccount] = {}
    for raw_name, value in accounts.items():
        name = check_name(raw_name)
        role, sep, stored = value.partition(":")
        if not sep or role not in store.ROLES or not stored.startswith("scrypt$") or len(
                stored.split("$")) != 6:
            raise ConfigError(f"[accounts] {raw_name}: must be 'reviewer:<hash>' or "
                              "'viewer:<hash>', the line 'auditor users hash' prints")
        out[name] = ConfigAccount(role, stored)
    return out


def account_line(name: str, role: str, password: str) -> str:
    """The auditor.toml line of an account (under [accounts])."""
    name = check_name(name)
    _check(role, password)
    return f'"{name}" = "{role}:{hash_password(password)}"'


def _check(role: str, password: str) -> None:
    if role not in store.ROLES:
        raise ConfigError(f"role must be one of {', '.join(store.ROLES)}; got {role!r}")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password must have at least {MIN_PASSWORD} characters")


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not name or not set(name) <= _NAME_CHARS or len(name) > 64:
        raise ConfigError(f"account name must be 1-64 of a-z 0-9 . _ - @; got {name!r}")
    return name


def add_user(engine: Engine, name: str, role: str, password: str) -> User:
    """Create an account (or reset an existing one's role and password)."""
    name = check_name(name)
    _check(role, password)
    with store.session(engine) as s:
        row = store.save_account(s, name, role, hash_password(password))
        s.commit()
        return User(row.name, row.role, row.id)


def authenticate(engine: Engine, name: str, password: str,
                 configured: dict[str, ConfigAccount] | None = None) -> User | None:
    """The account if the password is right, else None (same work either way)."""
    name = name.strip().lower()
    with store.session(engine) as s:
        row = store.find_account(s, name)
    if row is not None:
        return User(row.name, row.role, row.id) if verify_password(
            password, row.password_hash) else None
    conf = (configured or {}).get(name)
    if conf is None:
        verify_password(password, _DUMMY)
        return None
    return User(name, conf.role) if verify_password(password, conf.password_hash) else None


def config_user(name: str, configured: dict[str, ConfigAccount]) -> User | None:
    """The config account a session names, if the config still has it."""
    conf = configured.get(name)
    return None if conf is None else User(name, conf.role)


def user_by_id(engine: Engine, account_id: int) -> User | None:
    """The account a session names, if it still exists (a removed one signs out)."""
    with store.session(engine) as s:
        row = s.get(store.Account, account_id)
        return None if row is None else User(row.name, row.role, row.id)


def has_accounts(engine: Engine, configured: dict[str, ConfigAccount] | None = None) -> bool:
    if configured:
        return True
    with store.session(engine) as s:
        return store.count_accounts(s) > 0
