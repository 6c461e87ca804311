"""Crawl sources: a profile file per site, so that adding a site needs a profile, not code.

A profile is checked against :class:`HtmlProfile` or :class:`JsonApiProfile` (by its ``kind``): every key has a type
and a default, an unknown key is refused with the nearest valid one (a typo such as ``feilds:`` used to be accepted
and silently ignored), and a wrong type is refused with the key's path. ``crawler.profile_docs`` prints the table
of keys in ``crawler/README.md`` from these models.
"""

from __future__ import annotations

import codecs
import difflib
import zoneinfo
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store import audit
from store.models import Document, Source, utcnow

KINDS = {"html", "json_api"}
DEFAULT_TIMEZONE = "Asia/Shanghai"


class ProfileError(ValueError):
    """A crawl profile that cannot be used; ``problems`` holds one line per problem, each naming its key."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Selector = Annotated[str, Field(min_length=1)]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


class ListSpec(_Strict):
    """Listing pages of an ``html`` source."""

    detail_link: Selector = Field(
        description="selector of the detail-page links on a listing page (`::attr(href)` or elements with href)"
    )
    next_page: Selector | None = Field(None, description="selector of the next listing page's link (first match)")


class HtmlFields(_Strict):
    """Field selectors of a detail page: CSS, or XPath prefixed ``xpath:``; elements give their visible text."""

    title: Selector | None = Field(None, description="title (default: the page's `<title>`)")
    body: Selector | None = Field(None, description="main text (default: the page minus nav/header/footer/aside)")
    publisher: Selector | None = Field(None, description="publisher / seller name")
    contact: Selector | None = Field(None, description="phone, WeChat or other contact")
    posted_at: Selector | None = Field(None, description="posted time (ISO, epoch, `2024年5月1日 10:30`, …)")
    region: Selector | None = Field(None, description="region / city")
    price: Selector | None = Field(None, description="price")
    category: Selector | None = Field(None, description="category")
    images: Selector | None = Field(
        "img", description="images inside the `body` region (lazy `data-src` too; plus inline `background-image` URLs); null: none"
    )


class ApiFields(_Strict):
    """Where a JSON record keeps each field: dotted paths (``seller.name``, ``images.0.url``)."""

    title: str | None = Field(None, description="title")
    body: str = Field(description="main text (HTML inside it is reduced to text)")
    publisher: str | None = Field(None, description="publisher / seller name")
    contact: str | None = Field(None, description="phone or other contact")
    posted_at: str | None = Field(None, description="posted time (ISO, epoch seconds or milliseconds, …)")
    region: str | None = Field(None, description="region / city")
    price: str | None = Field(None, description="price")
    category: str | None = Field(None, description="category")
    images: str | None = Field(None, description="image URL, or a list of URLs or of objects with `url`")


class ApiSpec(_Strict):
    """A paged JSON listing API (``json_api`` sources)."""

    url: str = Field(description="page URL; `{page}` is replaced by the page number")
    first_page: int = Field(1, ge=0, description="number of the first page")
    items_path: str | None = Field(None, description="dotted path to the list of records (default: the document)")
    has_more_path: str | None = Field(
        None, description="dotted path to a 'more pages' flag (default: stop at an empty page)"
    )
    detail_url_field: str | None = Field(None, description="dotted path to each record's URL")
    url_template: str | None = Field(
        None, description="record URL from its fields, e.g. `/item/{id}` (when `detail_url_field` is absent)"
    )
    fields: ApiFields = Field(description="field paths in a record")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        _http_url(value.replace("{page}", "1"))
        return value

    @model_validator(mode="after")
    def _record_url(self) -> ApiSpec:
        if not (self.detail_url_field or self.url_template):
            raise ValueError("api needs detail_url_field or url_template: records need a URL")
        return self


class ProfileBase(_Strict):
    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="unique source name (letters, digits, `.`, `_`, `-`)",
    )
    platform: str | None = Field(None, description="platform name stored with every document")
    enabled: bool = Field(True, description="crawled by the schedule; set when the source is first added, then `adscreen sources disable` / `enable`")
    interval_seconds: int = Field(3600, ge=60, description="crawl every this many seconds (beat)")
    max_pages: int = Field(200, ge=1, description="listing / API pages per crawl at most (then `max_pages`)")
    concurrency_per_domain: int = Field(4, ge=1, le=64, description="parallel requests per domain")
    download_delay: float | None = Field(
        None, ge=0, description="fixed delay between requests, seconds (default: AutoThrottle from 0.25 s)"
    )
    encoding: str | None = Field(None, description="force this charset (default: detected, see `EncodingPipeline` below)")
    timezone: str = Field(
        DEFAULT_TIMEZONE, description="zone of posted times that carry none (stored as UTC)"
    )
    allow_private: bool = Field(
        False, description="allow loopback/private addresses, for the hosts the profile names only (SSRF guard)"
    )
    allowed_hosts: list[str] = Field(
        [], description="more hosts that may be private with `allow_private` (besides the start / API URL hosts)"
    )

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            near = difflib.get_close_matches(value, sorted(_zones()), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else " (an IANA name such as 'Asia/Shanghai')"
            raise ValueError(f"unknown time zone {value!r}{hint}") from None
        return value

    @property
    def hosts(self) -> list[str]:
        """The URLs whose hosts the profile names (for the SSRF guard's ``allow_private``)."""
        return []


class HtmlProfile(ProfileBase):
    """A classified-ad site: listing pages with links to detail pages (``ListingSpider``)."""

    kind: Literal["html"] = Field(description="`html`: listing pages linking detail pages (`ListingSpider`)")
    start_urls: list[str] = Field(min_length=1, description="first listing pages")
    list_: ListSpec = Field(alias="list", description="listing-page selectors")
    fields: HtmlFields = Field(HtmlFields(), description="detail-page field selectors")

    @field_validator("start_urls")
    @classmethod
    def _start_urls(cls, value: list[str]) -> list[str]:
        return [_http_url(u) for u in value]

    @property
    def hosts(self) -> list[str]:
        return list(self.start_urls)


class JsonApiProfile(ProfileBase):
    """A platform's paged JSON listing API (``JsonApiSpider``)."""

    kind: Literal["json_api"] = Field(description="`json_api`: a paged JSON listing API (`JsonApiSpider`)")
    api: ApiSpec = Field(description="the API and its field mapping")

    @property
    def hosts(self) -> list[str]:
        return [self.api.url]


SourceProfile = HtmlProfile | JsonApiProfile
MODELS: dict[str, type[HtmlProfile] | type[JsonApiProfile]] = {"html": HtmlProfile, "json_api": JsonApiProfile}


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


_MESSAGES = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a text value (quote it in YAML)",
    "string_pattern_mismatch": "expected letters, digits, '.', '_' and '-' only, starting with a letter or digit",
    "list_type": "expected a list, e.g. [a, b]",
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "dict_type": "expected a mapping of keys",
    "literal_error": "expected 'html' or 'json_api'",
}


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _keys_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the mapping at ``loc`` (aliases as written in the file)."""
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        by_key = {(f.alias or name): f for name, f in model.model_fields.items()}
        model = _submodel(by_key[part].annotation) if part in by_key else None
    return [] if model is None else [(f.alias or name) for name, f in model.model_fields.items()]


def _field_info(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    field = None
    for part in loc:
        if isinstance(part, int):
            continue
        by_key = {(f.alias or name): f for name, f in model.model_fields.items()}
        field = by_key.get(part)
        sub = _submodel(field.annotation) if field is not None else None
        if sub is None:
            break
        model = sub
    return field


def _problem(model: type[BaseModel], error: Any) -> str:
    loc = tuple(error["loc"])
    path = ".".join(str(p) for p in loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = loc[:-1]
        valid = _keys_at(model, parent)
        prefix = "".join(f"{p}." for p in parent if not isinstance(p, int))
        near = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
        if near:
            return f"unknown key '{path}' (did you mean '{prefix}{near[0]}'?)"
        where = f" under '{prefix[:-1]}'" if prefix else ""
        return f"unknown key '{path}' (valid keys{where}: {', '.join(valid)})"
    if kind == "missing":
        field = _field_info(model, loc)
        described = f": {field.description}" if field is not None and field.description else ""
        return f"missing key '{path}'{described}"
    message = _MESSAGES.get(kind) or str(error["msg"]).removeprefix("Value error, ")
    message = message[0].lower() + message[1:] if message else message
    shown = repr(error.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if kind in ("value_error", "assertion_error") or "input" not in error:
        return f"key '{path}': {message}" if path else message
    return f"key '{path}': {message} (got {shown})"


def parse_profile(data: Any) -> SourceProfile:
    """The profile as its model; :class:`ProfileError` with one line per problem when it does not fit."""
    if isinstance(data, HtmlProfile | JsonApiProfile):
        return data
    if not isinstance(data, dict):
        raise ProfileError(f"a profile is a mapping of keys (name, kind, …), not {type(data).__name__}")
    kind = data.get("kind")
    if kind not in MODELS:
        problem = "missing key 'kind'" if kind is None else f"key 'kind': expected 'html' or 'json_api' (got {kind!r})"
        known = sorted({key for m in MODELS.values() for key in _keys_at(m, ())})
        unknown = [k for k in data if k not in known]
        hints = [
            f"unknown key '{k}'" + (f" (did you mean '{near[0]}'?)" if near else "")
            for k in unknown
            for near in [difflib.get_close_matches(str(k), known, n=1, cutoff=0.6)]
        ]
        raise ProfileError([problem, *hints])
    model = MODELS[kind]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProfileError([_problem(model, e) for e in exc.errors()]) from None


def profile_dict(profile: SourceProfile) -> dict[str, Any]:
    """The profile as stored in ``sources.profile``: every key with its value or default, as written in a file.

    ``enabled`` is not part of it: the source's ``enabled`` column is the truth (``sources disable|enable``).
    """
    return profile.model_dump(mode="json", by_alias=True, exclude={"enabled"})


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read and check a profile file; :class:`ProfileError` (one line per problem) for any problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path} is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileError(f"{path} is not valid YAML: {problem}{where}") from None
    model = parse_profile(data)
    out = profile_dict(model)
    if "enabled" in model.model_fields_set:
        out["enabled"] = model.enabled
    return out


def validate_profile(data: Any) -> SourceProfile:
    """Check a profile (a mapping or a model); returns its model or raises :class:`ProfileError`."""
    return parse_profile(data)


def upsert_source(session: Session, profile: dict[str, Any] | SourceProfile, actor: str = "system") -> Source:
    """Create the source or replace its profile (a re-added profile is an edit, audited).

    ``enabled`` is taken from the profile only when the profile says it (or the source is new): re-adding a profile
    file does not re-enable a source an operator disabled.
    """
    model = parse_profile(profile)
    stored = profile_dict(model)
    explicit = "enabled" in model.model_fields_set
    source = session.scalar(select(Source).where(Source.name == model.name))
    before = None
    if source is None:
        # insert-or-ignore: crawler processes of one distributed crawl register the same source concurrently
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(Source)
            .values(name=model.name, kind=model.kind, profile=stored, enabled=model.enabled, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        source = session.scalar(select(Source).where(Source.name == model.name))
    else:
        before = {"profile": source.profile, "enabled": source.enabled}
    assert source is not None
    source.kind = model.kind
    source.profile = stored
    source.interval_seconds = model.interval_seconds
    source.allow_private = model.allow_private
    if explicit:
        source.enabled = model.enabled
    session.flush()
    audit.record(session, actor, "source.upsert", "source", source.id, before, {"profile": stored})
    return source


def source_profile(source: Source) -> SourceProfile:
    """The stored profile of a source as its model (stored profiles were checked when they were saved)."""
    return parse_profile({**source.profile, "name": source.name, "kind": source.kind})


def get_source(session: Session, name: str) -> Source | None:
    return session.scalar(select(Source).where(Source.name == name))


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name)))


def set_enabled(session: Session, name: str, enabled: bool, actor: str = "system") -> Source | None:
    """Enable or disable a source (a disabled one is skipped by the crawl schedule); ``None`` if unknown."""
    source = get_source(session, name)
    if source is None:
        return None
    if source.enabled != enabled:
        before = {"enabled": source.enabled}
        source.enabled = enabled
        session.flush()
        audit.record(session, actor, "source.enable" if enabled else "source.disable", "source", source.id,
                     before, {"enabled": enabled})  # fmt: skip
    return source


class SourceInUse(ValueError):
    """A source that still has documents or rejections cannot be removed (they are evidence)."""


def remove_source(session: Session, name: str, actor: str = "system") -> bool:
    """Delete a source that never stored anything; ``False`` if unknown.

    A source with documents or recorded rejections is refused (:class:`SourceInUse`): its documents are the evidence
    of cases and point at it, so it stays registered; disable it instead.
    """
    from store.models import Rejection

    source = get_source(session, name)
    if source is None:
        return False
    documents = session.scalar(select(func.count(Document.id)).where(Document.source_id == source.id)) or 0
    rejections = session.scalar(select(func.count(Rejection.id)).where(Rejection.source_id == source.id)) or 0
    if documents or rejections:
        raise SourceInUse(
            f"source {name!r} has {documents} documents and {rejections} recorded rejections, kept as evidence; "
            f"it cannot be removed — disable it instead: adscreen sources disable {name}"
        )
    audit.record(session, actor, "source.remove", "source", source.id, {"profile": source.profile}, None)
    session.delete(source)
    session.flush()
    return True


def mark_crawled(session: Session, source_id: int, at: datetime | None = None) -> None:
    """Record when a source was last crawled (or claimed for a crawl): the one writer of ``last_crawled_at``."""
    session.execute(update(Source).where(Source.id == source_id).values(last_crawled_at=at or utcnow()))
