"""Linking quality on the bundled demo site: pairwise precision and recall against its operator answer key.

Reads the operators stored by a demo run (``adscreen demo``) and the key in ``demo_site/data`` (field ``operator``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from operators.link import pairwise_scores


def demo_linking_scores(database_url: str) -> dict[str, Any]:
    from sqlalchemy import select

    from demo_site.content import expected_operators
    from store.db import session_scope
    from store.models import Document, OperatorMember

    truth_by_path = expected_operators()
    predicted: dict[str, int] = {}
    with session_scope(database_url) as session:
        rows = session.execute(
            select(Document.url, OperatorMember.operator_id).join(
                OperatorMember, OperatorMember.document_id == Document.id
            )
        )
        for url, op in rows:
            path = urlsplit(url).path
            if path in truth_by_path:
                predicted[path] = op
    truth = {p: truth_by_path[p] for p in predicted}
    scores = pairwise_scores(predicted, truth)
    scores["operators_expected"] = len({t for t in truth.values() if t})
    return scores


def print_linking_scores(settings: Any, console: Any) -> dict[str, Any]:
    s = demo_linking_scores(settings.database_url)
    if s["documents"]:
        console.print(
            f"operators against the demo site's answer key: pairwise precision {s['precision']:.2f}, recall "
            f"{s['recall']:.2f} ({s['true_positive_pairs']} of {s['true_pairs']} true pairs linked, "
            f"{s['predicted_pairs'] - s['true_positive_pairs']} wrong pairs; {s['operators_expected']} operators "
            f"in the key) — `adscreen operators list` shows them"
        )
    return s


def prepare_demo_stops(session: Any, source_name: str = "demo-classifieds") -> int:
    """Stop the demo site's own hotline on its source (once); returns how many stops were added."""
    from sqlalchemy import select

    from demo_site.content import site
    from store.identifiers import add_stop, parse_stop_entry
    from store.models import IdentifierStop
    from store.sources import get_source

    source = get_source(session, source_name)
    if source is None:
        return 0
    have = set(session.execute(
        select(IdentifierStop.kind, IdentifierStop.value).where(IdentifierStop.source_id == source.id)
    ).all())  # fmt: skip
    added = 0
    for entry in site().get("identifier_stoplist") or []:
        if not parse_stop_entry(entry) <= {tuple(h) for h in have}:
            added += len(add_stop(session, entry, actor="demo", source_id=source.id, reason="the site's own hotline"))
    return added


def demo_operators(settings: Any, console: Any) -> dict[str, Any]:
    """``adscreen demo``'s operator step: the site's stop list, a rebuild with it, and the linking scores."""
    from operators.cli import risk_config
    from store.db import session_scope
    from store.operators import rebuild

    with session_scope(settings.database_url) as session:
        if prepare_demo_stops(session):
            rebuild(session, risk=risk_config(settings), actor="demo")
    return print_linking_scores(settings, console)
