"""Accounts of the web app: who may sign in, with which role; only password hashes are kept."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from auditor.store.tables import Account, Review

ROLES = ("reviewer", "viewer")


def find_account(s: Session, name: str) -> Account | None:
    return s.exec(select(Account).where(Account.name == name)).first()


def list_accounts(s: Session) -> list[Account]:
    return list(s.exec(select(Account).order_by(col(Account.name))))


def count_accounts(s: Session) -> int:
    return int(s.exec(select(func.count()).select_from(Account)).one())


def save_account(s: Session, name: str, role: str, password_hash: str) -> Account:
    """Add an account, or give an existing one a new role and password."""
    row = find_account(s, name) or Account(name=name, password_hash=password_hash)
    row.role, row.password_hash = role, password_hash
    s.add(row)
    s.flush()
    return row


def delete_account(s: Session, name: str) -> bool:
    """Remove an account; its reviews keep the name (review.reviewer), not the link."""
    row = find_account(s, name)
    if row is None:
        return False
    for rv in s.exec(select(Review).where(Review.account_id == row.id)):
        rv.account_id = None
        s.add(rv)
    s.flush()
    s.delete(row)
    s.flush()
    return True
