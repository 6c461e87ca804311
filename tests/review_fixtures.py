"""Test fixtures of the review app: sample cases (documents, verdicts with hit spans, flags) and one account per
role with a fixed password. Test data only (moved out of the installed ``review`` package): accounts of a real
deployment are made with ``adscreen users add`` (``review.users.create_user`` / ``ensure_user``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from review.users import create_user
from store.documents import DocumentIn, save_document
from store.models import Flag, Source, utcnow
from store.verdicts import VerdictIn, save_verdict

PASSWORD = "pass-word-123"
SAMPLES = [
    ("养老公寓火爆认购，年化收益12%，保本保息，5万起投，推荐好友再返2%", "pension", 0.93, "high"),
    ("产权式商铺售后包租，十年回购，年均收益8%，签约即送家电", "property", 0.84, "high"),
    ("区块链数字资产平台内测，平台币即将上交易所，邀请好友得奖励", "crypto", 0.71, "medium"),
    ("某某理财：新手专享年化15%，零风险，稳赚不赔，随存随取", "return_promise", 0.66, "medium"),
    ("合作社入股分红，每年固定分红10%，面向全社会募集", "coop", 0.58, "medium"),
]
TERMS = {
    "年化收益": "rate",
    "保本保息": "return_promise",
    "售后包租": "property",
    "回购": "property",
    "平台币": "crypto",
    "邀请好友": "recruitment",
    "推荐好友": "recruitment",
    "年化15%": "rate",
    "零风险": "return_promise",
    "稳赚不赔": "return_promise",
    "入股分红": "coop",
    "面向全社会募集": "solicit",
}


def hits_for(text: str) -> list[dict[str, Any]]:
    out = []
    for term, term_category in TERMS.items():
        start = text.find(term)
        if start >= 0:
            out.append(
                {
                    "term": term,
                    "category": term_category,
                    "weight": 0.6,
                    "start": start,
                    "end": start + len(term),
                    "normalized": term,
                    "rule": f"lex:{term}",
                }
            )
    return out


def add_case(
    session: Session,
    n: int,
    text: str,
    *,
    title: str | None = None,
    category: str = "return_promise",
    score: float = 0.9,
    level: str = "high",
    raw: bytes | None = None,
    url: str | None = None,
    source: Source | None = None,
    hits: list[dict[str, Any]] | None = None,
    region: str = "北京",
    posted_at: datetime | None = None,
    headers: dict[str, str] | None = None,
    explanation: str = "命中回报承诺类词条；模型判定为集资宣传",
) -> Flag:
    """One crawled ad with a flagging verdict; returns its flag."""
    url = url or f"https://ads.example.org/item/{n}"
    doc, _ = save_document(
        session,
        DocumentIn(
            url=url,
            canonical_url=f"https://ads.example.org/item/{n}",
            text=text,
            raw=raw
            if raw is not None
            else f"<html><body><h1>{title or ''}</h1><p>{text}</p></body></html>".encode(),
            title=title or text[:16],
            publisher=f"某某财富管理有限公司{n}",
            contact="138xxxx0000",
            region=region,
            platform="示例分类信息网",
            posted_at=posted_at or utcnow() - timedelta(days=1),
            http_headers=headers or {},
            http_status=200,
            encoding="utf-8",
            source_id=source.id if source else None,
        ),
    )
    save_verdict(
        session,
        doc.id,
        VerdictIn(
            score=score,
            level=level,
            flagged=True,
            detector_versions="lex:v1+clf:v1",
            keyword_score=min(score + 0.05, 1.0),
            classifier_prob=score,
            hits=hits if hits is not None else hits_for(text),
            explanation=explanation,
            detectors=["keywords", "classifier"],
            category=category,
        ),
    )
    session.flush()
    return session.query(Flag).filter_by(document_id=doc.id).one()


def seed(session: Session, with_users: bool = True) -> list[Flag]:
    """The sample cases plus one account per role (password ``PASSWORD``)."""
    source = Source(name="示例分类信息网", kind="html", profile={"name": "示例分类信息网", "kind": "html"})
    session.add(source)
    session.flush()
    flags = [
        add_case(session, i, text, category=cat, score=score, level=level, source=source)
        for i, (text, cat, score, level) in enumerate(SAMPLES, start=1)
    ]
    if with_users:
        for name, role in (
            ("insp", "inspector"),
            ("insp2", "inspector"),
            ("editor", "lexicon_editor"),
            ("admin", "admin"),
        ):
            create_user(session, name, PASSWORD, role)
    return flags


def seed_history(
    session: Session, days: int = 30, per_day: int = 4, regions: list[str] | None = None
) -> int:
    """Backdated flags and decisions over ``days`` days, so that the dashboard has something to draw."""
    import random

    from store.models import Decision

    rng = random.Random(7)
    reviewers = ["insp", "insp2", "admin"]
    categories = ["pension", "property", "crypto", "return_promise", "coop", "p2p"]
    now = utcnow()
    sources = session.query(Source).all() or [None]
    n = 0
    for day in range(days, 0, -1):
        for k in range(rng.randint(1, per_day)):
            text, _, score, level = SAMPLES[rng.randrange(len(SAMPLES))]
            flag = add_case(
                session,
                10_000 + day * 100 + k,
                f"{text}（第{day}-{k}期）",
                category=rng.choice(categories),
                score=round(score - rng.random() * 0.2, 2),
                level=level,
                region=rng.choice(regions or ["北京", "上海", "郑州", "成都"]),
                source=rng.choice(sources),
            )
            created = now - timedelta(days=day, hours=rng.randint(0, 20))
            flag.created_at = created
            n += 1
            roll = rng.random()
            if roll < 0.75 or day > 10:
                action = "confirm" if roll < 0.45 else "dismiss"
                flag.status = "confirmed" if action == "confirm" else "dismissed"
                flag.assignee = rng.choice(reviewers)
                session.add(
                    Decision(
                        flag_id=flag.id,
                        reviewer=flag.assignee,
                        action=action,
                        reason=None
                        if action == "confirm"
                        else rng.choice(["ad_law", "finance_legit", "warning_news"]),
                        note="",
                        created_at=created + timedelta(hours=rng.randint(1, 30)),
                    )
                )
    session.flush()
    return n


def login_api(app: Any, username: str, password: str = PASSWORD) -> Any:
    """A TestClient logged in through the JSON API, sending its CSRF token on every request."""
    from fastapi.testclient import TestClient

    client = TestClient(app)
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client
