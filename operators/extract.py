"""Identifiers of one document: every phone, WeChat, QQ, e-mail, URL, domain, company, brand and app name in its
fields, each with its kind, canonical value and exact span (``fields[field][start:end] == matched``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from operators import contacts, names, phones
from operators.text import ascii_table, digit_table, fold

KINDS = (
    "phone", "phone_partial", "wechat", "qq", "email", "url", "domain", "company", "brand", "app", "region",
)  # fmt: skip
EXTRACTOR_VERSION = "ident-1"
MAX_FIELD_CHARS = 20_000  # identifiers sit in the first pages of an ad; a huge body is read up to here


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: str
    value: str
    field: str
    start: int
    end: int
    matched: str

    def key(self) -> tuple[str, str]:
        return self.kind, self.value

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def extract(fields: Mapping[str, str | None]) -> list[Identifier]:
    """Every identifier in the fields, in field order then position; duplicates of one span and kind dropped.

    A field named ``region`` is taken whole as a ``region`` identifier (weight 0: a shared city links nothing).
    """
    out: list[Identifier] = []
    for name, value in fields.items():
        if not value:
            continue
        if name == "region":
            region = unicodedata.normalize("NFKC", value).strip()
            if region:
                start = len(value) - len(value.lstrip())
                end = len(value.rstrip())
                out.append(Identifier("region", region, name, start, end, value[start:end]))
            continue
        out.extend(_field(name, value[:MAX_FIELD_CHARS]))
    return out


def _field(name: str, text: str) -> Iterable[Identifier]:
    seen: set[tuple[str, str, int, int]] = set()
    found: list[tuple[str, str, int, int]] = []
    digits = fold(text, digit_table())
    for kind, value, s, e in _chain(
        phones.find(digits.text), contacts.find_wechat(digits.text), contacts.find_qq(digits.text)
    ):
        found.append((kind, value, *digits.span(s, e)))
    if "@" in text or "." in text or "．" in text:
        plain = fold(text, ascii_table())
        for kind, value, s, e in _chain(contacts.find_email(plain.text), contacts.find_web(plain.text)):
            found.append((kind, value, *plain.span(s, e)))
    for kind, value, s, e in _chain(names.find_companies(text), names.find_apps(text)):
        found.append((kind, value, s, e))
    email_spans = [(s, e) for kind, _, s, e in found if kind == "email"]
    for kind, value, s, e in sorted(found, key=lambda f: (f[2], f[3], f[0])):
        if kind in ("domain", "url") and any(es <= s < ee for es, ee in email_spans):
            continue  # the domain of an e-mail address is the mail provider, not the operator's site
        if (kind, value, s, e) in seen:
            continue
        seen.add((kind, value, s, e))
        yield Identifier(kind, value, name, s, e, text[s:e])


def _chain(*iterables: Iterable[tuple[str, str, int, int]]) -> Iterable[tuple[str, str, int, int]]:
    for it in iterables:
        yield from it
