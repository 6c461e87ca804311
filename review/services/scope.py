"""Who sees which cases (属地管理): an account scoped to units sees and decides only those units' cases.

Admins and accounts with no unit see every unit. Every page and API route that reads or changes a case asks
:func:`visible_flag` first, and every list adds :func:`units_of` to its filter, so that a scoped inspector cannot
reach another unit's case by its id, by a list, by ``n``, by a bulk action or through its near-duplicates.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from review.services.errors import NotFound
from store import queue, units
from store.models import Flag, User


class OutOfScope(NotFound):
    """A case of another unit: answered like a case that does not exist (404), so ids reveal nothing."""

    def __init__(self, flag_id: object) -> None:
        super().__init__(f"案件 {flag_id} 不存在或不属于您负责的单位")


def units_of(session: Session, user: User) -> list[str] | None:
    """The unit codes ``user`` may see; None: every unit (admins, unscoped accounts)."""
    if user.role == "admin":
        return None
    codes = units.user_units(session, user.id)
    return codes or None


def in_scope(session: Session, user: User, flag: Flag) -> bool:
    allowed = units_of(session, user)
    return allowed is None or flag.unit in allowed


def visible_flag(session: Session, user: User, flag_id: int) -> Flag:
    """The flag when ``user`` may see it; NotFound otherwise (also for ids no column can hold)."""
    flag = session.get(Flag, flag_id) if 0 < flag_id < 2**31 else None
    if flag is None:
        raise NotFound(f"案件 {flag_id} 不存在")
    if not in_scope(session, user, flag):
        raise OutOfScope(flag_id)
    return flag


def scoped(session: Session, user: User, f: queue.QueueFilter) -> queue.QueueFilter:
    """The filter restricted to the user's units (a ``unit`` filter outside them finds nothing)."""
    f.units = units_of(session, user)
    return f
