"""Responsible units (属地管理) and the regions they cover: parsing a region text into 省 / 市 / 区县, loading the
units file, and routing each flag to a unit.

Every county and district handles its own cases (docs/seed-notice.txt), so a flag carries the area its document
names and the unit responsible for that area, denormalised onto the flag (with its source and a search text,
``store.search``) so that queue filters, scoping and the dashboard are plain indexed columns.

Region texts are free text from the crawled page (``睢阳``, ``河南商丘睢阳区``, ``商丘市 梁园区 平原路``): the parser
finds the longest division names it contains, in a bundled table (``store/data/divisions.yaml``), and keeps the
deepest consistent path. A text naming nothing known has no area; such a flag goes to the fallback unit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from store.models import Document, DocumentVersion, Flag, FlagCategory, FlagSearch, Unit, UserUnit, Verdict

DATA = Path(__file__).with_name("data")
DIVISIONS_FILE = DATA / "divisions.yaml"
DEFAULT_UNITS_FILE = DATA / "units.yaml"
LEVELS = ("province", "city", "county")
LEVEL_LABELS = {"province": "省", "city": "市", "county": "区县"}
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_CITY_SUFFIXES = ("自治州", "地区", "市", "盟")
_COUNTY_SUFFIXES = ("回族区", "自治县", "新区", "区", "县", "市", "旗")


class UnitsError(ValueError):
    """A units file that cannot be used (unknown area, duplicate code, no fallback): the message says which."""


# --- administrative divisions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """A place as 省 / 市 / 区县 (full official names; a deeper level is None when the text does not say)."""

    province: str | None = None
    city: str | None = None
    county: str | None = None

    @property
    def level(self) -> str | None:
        """The deepest level known: ``county``, ``city``, ``province`` or None."""
        for name in reversed(LEVELS):
            if getattr(self, name):
                return name
        return None

    @property
    def name(self) -> str | None:
        return getattr(self, self.level) if self.level else None

    def label(self) -> str:
        """``河南省商丘市睢阳区`` (a municipality's name once)."""
        parts: list[str] = []
        for part in (self.province, self.city, self.county):
            if part and part not in parts:
                parts.append(part)
        return "".join(parts)

    def within(self, other: Area) -> bool:
        """Whether this area lies inside ``other`` (or is it)."""
        return other.level is not None and all(
            getattr(other, n) is None or getattr(other, n) == getattr(self, n) for n in LEVELS
        )


def _short(name: str, suffixes: tuple[str, ...]) -> str | None:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


@dataclass
class Divisions:
    """The bundled table as a name index: every full name, short name and alias → the areas it can mean."""

    names: dict[str, list[Area]] = field(default_factory=dict)
    areas: list[Area] = field(default_factory=list)
    longest: int = 0

    def _add(self, area: Area, name: str, suffixes: tuple[str, ...], aliases: Iterable[str] = ()) -> None:
        self.areas.append(area)
        for key in {name, _short(name, suffixes), *aliases} - {None}:
            bucket = self.names.setdefault(key, [])
            if area not in bucket:
                bucket.append(area)
            self.longest = max(self.longest, len(key))

    @classmethod
    def load(cls, path: Path = DIVISIONS_FILE) -> Divisions:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        div = cls()
        for prov, pinfo in (data.get("provinces") or {}).items():
            pinfo = pinfo or {}
            div._add(Area(prov), prov, _PROVINCE_SUFFIXES, pinfo.get("aliases") or ())
            if pinfo.get("municipality"):  # 北京市 is province and city at once
                div._add(Area(prov, prov), prov, _PROVINCE_SUFFIXES)
            for city, cinfo in (pinfo.get("cities") or {}).items():
                cinfo = cinfo or {}
                div._add(Area(prov, city), city, _CITY_SUFFIXES, cinfo.get("aliases") or ())
                for county in cinfo.get("counties") or ():
                    div._add(Area(prov, city, county), county, _COUNTY_SUFFIXES)
                for county, aliases in (cinfo.get("extra") or {}).items():
                    div._add(Area(prov, city, county), county, _COUNTY_SUFFIXES, aliases or ())
        return div

    def parse(self, text: str | None) -> Area:
        """The deepest area the text names consistently; ``Area()`` when it names none."""
        text = unicodedata.normalize("NFKC", text or "").strip()
        if not text:
            return Area()
        found: list[list[Area]] = []
        i, longest = 0, self.longest
        while i < len(text):
            for n in range(min(longest, len(text) - i), 1, -1):
                hit = self.names.get(text[i : i + n])
                if hit:
                    found.append(hit)
                    i += n
                    break
            else:
                i += 1
        if not found:
            return Area()
        best, best_score = Area(), (-1, -1)
        for candidates in found:
            for cand in candidates:
                # how many of the other names found agree with this path, then how deep it goes
                agree = sum(any(cand.within(o) for o in others) for others in found)
                score = (agree, LEVELS.index(cand.level) if cand.level else -1)
                if score > best_score:
                    best, best_score = cand, score
        return best


@lru_cache(maxsize=1)
def divisions() -> Divisions:
    return Divisions.load()


def parse_region(text: str | None) -> Area:
    """``睢阳`` → 河南省 / 商丘市 / 睢阳区; ``北京`` → 北京市 / 北京市; unknown text → ``Area()``."""
    return divisions().parse(text)


def area_from_path(path: str) -> Area:
    """``河南省/商丘市/睢阳区`` (as the units file writes areas) → Area; UnitsError for a name not in the table."""
    parts = [p.strip() for p in path.split("/") if p.strip()]
    if not 1 <= len(parts) <= 3:
        raise UnitsError(f"地区 {path!r} 应写作 省/市/区县")
    area = Area(*parts)
    if area not in divisions().areas:
        raise UnitsError(f"地区 {path!r} 不在行政区划表中（store/data/divisions.yaml）")
    return area


# --- the units file ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str
    areas: tuple[Area, ...]
    parent: str | None = None
    fallback: bool = False


_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def load_units_file(path: str | Path | None = None) -> list[UnitSpec]:
    """The units of a YAML file (default: the bundled Shangqiu units); UnitsError says what is wrong."""
    path = Path(path or DEFAULT_UNITS_FILE)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UnitsError(f"无法读取单位文件 {path}：{exc}") from exc
    rows = data.get("units") or []
    if not isinstance(rows, list) or not rows:
        raise UnitsError(f"单位文件 {path} 没有 units 列表")
    fallback = data.get("fallback")
    specs: list[UnitSpec] = []
    seen: set[str] = set()
    for row in rows:
        if not isinstance(row, dict) or not row.get("code") or not row.get("name"):
            raise UnitsError(f"单位 {row!r} 需要 code 和 name")
        code = str(row["code"])
        if not _CODE.match(code) or code in seen:
            raise UnitsError(f"单位代码 {code!r} 无效或重复（小写字母、数字、- 和 _，至多 40 个字符）")
        seen.add(code)
        areas = tuple(area_from_path(str(a)) for a in row.get("areas") or ())
        specs.append(
            UnitSpec(
                code=code,
                name=str(row["name"])[:100],
                kind=str(row.get("kind", ""))[:20],
                areas=areas,
                parent=row.get("parent"),
                fallback=code == fallback,
            )
        )
    if fallback not in seen:
        raise UnitsError(f"单位文件 {path} 的 fallback {fallback!r} 不是其中的单位")
    for s in specs:
        if s.parent and s.parent not in seen:
            raise UnitsError(f"单位 {s.code} 的上级 {s.parent!r} 不存在")
    return specs


def sync_units(session: Session, specs: list[UnitSpec]) -> bool:
    """Make the ``units`` table say what the file says (upsert by code; units no longer listed become inactive);
    re-routes every flag when anything changed. Returns whether it did."""
    existing = {u.code: u for u in session.scalars(select(Unit))}
    changed = False
    for order, s in enumerate(specs):
        values = {
            "name": s.name,
            "kind": s.kind,
            "parent_code": s.parent,
            "areas": ["/".join(p for p in (a.province, a.city, a.county) if p) for a in s.areas],
            "is_fallback": s.fallback,
            "active": True,
            "sort_order": order,
        }
        unit = existing.pop(s.code, None)
        if unit is None:
            session.add(Unit(code=s.code, **values))
            changed = True
        elif any(getattr(unit, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(unit, k, v)
            changed = True
    for unit in existing.values():
        if unit.active:
            unit.active, unit.is_fallback = False, False
            changed = True
    session.flush()
    if changed:
        reroute_units(session)
    return changed


@dataclass
class Router:
    """Area → unit code by the active units: the most specific unit containing the area, else the fallback."""

    units: list[tuple[Area, str]]
    fallback: str | None

    @classmethod
    def load(cls, session: Session) -> Router:
        pairs: list[tuple[Area, str]] = []
        fallback = None
        for unit in session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.sort_order)):
            for path in unit.areas or ():
                parts = path.split("/")
                pairs.append((Area(*parts), unit.code))
            if unit.is_fallback:
                fallback = unit.code
        pairs.sort(key=lambda p: -LEVELS.index(p[0].level or "province"))  # deepest first
        return cls(pairs, fallback)

    def unit_for(self, area: Area) -> str | None:
        if area.level is not None:
            for unit_area, code in self.units:
                if area.within(unit_area):
                    return code
        return self.fallback


def units(session: Session, active: bool = True) -> list[Unit]:
    stmt = select(Unit).order_by(Unit.sort_order, Unit.code)
    if active:
        stmt = stmt.where(Unit.active.is_(True))
    return list(session.scalars(stmt))


def unit_names(session: Session) -> dict[str, str]:
    return {u.code: u.name for u in units(session, active=False)}


def user_units(session: Session, user_id: int) -> list[str]:
    """The unit codes an account is scoped to; empty: not scoped (sees every unit)."""
    return list(session.scalars(select(UserUnit.unit_code).where(UserUnit.user_id == user_id).order_by(UserUnit.unit_code)))


def set_user_units(session: Session, user_id: int, codes: list[str]) -> list[str]:
    """Scope an account to these units (empty: every unit); UnitsError for an unknown code."""
    known = {u.code for u in units(session)}
    unknown = sorted(set(codes) - known)
    if unknown:
        raise UnitsError(f"未知单位：{'、'.join(unknown)}")
    session.execute(delete(UserUnit).where(UserUnit.user_id == user_id))
    for code in sorted(set(codes)):
        session.add(UserUnit(user_id=user_id, unit_code=code))
    session.flush()
    return sorted(set(codes))


# --- routing flags ------------------------------------------------------------------------------------------------


def route_flags(
    session: Session,
    flag_ids: Iterable[int] | None = None,
    *,
    document_ids: Iterable[int] | None = None,
    batch: int = 500,
) -> int:
    """Fill the denormalised columns of flags whose verdict changed since they were last routed (all of them, or
    those of ``document_ids``; ``flag_ids``: these, unconditionally): source, region and its area, unit, the hit
    categories and the search text. ``store.verdicts.save_verdicts`` calls it for every scored batch."""
    from store.search import search_text

    if flag_ids is None:
        stale = or_(Flag.routed_verdict_id.is_(None), Flag.routed_verdict_id != Flag.verdict_id)
        stmt = select(Flag.id).where(stale)
        if document_ids is not None:
            stmt = stmt.where(Flag.document_id.in_(sorted(set(document_ids))))
        ids = list(session.scalars(stmt.order_by(Flag.id)))
    else:
        ids = sorted(set(flag_ids))
    if not ids:
        return 0
    router = Router.load(session)
    done = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        rows = session.execute(
            select(
                Flag.id,
                Flag.verdict_id,
                Flag.category,
                Document.source_id,
                Document.url,
                DocumentVersion.title,
                DocumentVersion.text,
                DocumentVersion.publisher,
                DocumentVersion.contact,
                DocumentVersion.region,
                Verdict.hits,
            )
            .join(Document, Document.id == Flag.document_id)
            .join(DocumentVersion, DocumentVersion.id == Flag.version_id)
            .join(Verdict, Verdict.id == Flag.verdict_id)
            .where(Flag.id.in_(chunk))
        ).all()
        if not rows:
            continue
        found = [r.id for r in rows]
        session.execute(delete(FlagCategory).where(FlagCategory.flag_id.in_(found)))
        session.execute(delete(FlagSearch).where(FlagSearch.flag_id.in_(found)))
        values: list[dict[str, Any]] = []
        cats: list[dict[str, Any]] = []
        texts: list[dict[str, Any]] = []
        for r in rows:
            area = parse_region(r.region)
            values.append(
                {
                    "fid": r.id,
                    "source_id": r.source_id,
                    "region": (r.region or "")[:200] or None,
                    "province": area.province,
                    "city": area.city,
                    "county": area.county,
                    "unit": router.unit_for(area),
                    "routed_verdict_id": r.verdict_id,
                }
            )
            names = {h.get("category") for h in (r.hits or []) if isinstance(h, dict)} | {r.category}
            cats.extend({"flag_id": r.id, "category": str(c)[:60]} for c in sorted(n for n in names if n))
            texts.append(
                {
                    "flag_id": r.id,
                    "body": search_text(r.title, r.text, r.publisher, r.contact, r.url),
                }
            )
        _update_many(session, values)
        if cats:
            session.execute(FlagCategory.__table__.insert(), cats)
        session.execute(FlagSearch.__table__.insert(), texts)
        done += len(rows)
    return done


def _update_many(session: Session, values: list[dict[str, Any]]) -> None:
    from sqlalchemy import bindparam

    t = Flag.__table__
    stmt = (
        t.update()
        .where(t.c.id == bindparam("fid"))
        .values(
            source_id=bindparam("source_id"),
            region=bindparam("region"),
            province=bindparam("province"),
            city=bindparam("city"),
            county=bindparam("county"),
            unit=bindparam("unit"),
            routed_verdict_id=bindparam("routed_verdict_id"),
        )
    )
    session.connection().execute(stmt, values)


def reroute_units(session: Session) -> int:
    """After the units changed: the unit of every flag again, one UPDATE per distinct area."""
    router = Router.load(session)
    areas = session.execute(select(Flag.province, Flag.city, Flag.county, func.count()).group_by(Flag.province, Flag.city, Flag.county)).all()
    n = 0
    for province, city, county, count in areas:
        code = router.unit_for(Area(province, city, county))
        cond = [
            (Flag.province.is_(None) if province is None else Flag.province == province),
            (Flag.city.is_(None) if city is None else Flag.city == city),
            (Flag.county.is_(None) if county is None else Flag.county == county),
        ]
        session.execute(update(Flag).where(*cond).values(unit=code).execution_options(synchronize_session=False))
        n += count
    return n


def area_condition(area: Area):
    """SQL: flags whose area lies inside ``area`` (睢阳 finds 河南省商丘市睢阳区; 商丘 finds all of Shangqiu)."""
    column = {"province": Flag.province, "city": Flag.city, "county": Flag.county}[area.level or "province"]
    return column == area.name
