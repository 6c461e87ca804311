"""Which documents belong to one operator: connected components over shared identifiers, hubs kept out.

Each kind has a weight. Two documents link when the identifiers they share weigh at least ``threshold`` together:
one shared phone, WeChat, QQ, e-mail, site or company name is enough; a brand, an app name or a masked number only
counts together with other evidence; a shared city counts for nothing. Identifiers that many unrelated documents
carry (a platform's customer-service number, a template footer, the site's own domain) are hubs: the caller drops
them before linking (degree cap, stop lists), so they never weld unrelated operators together.

Inspectors' decisions are constraints: ``must`` groups are joined first; a ``cannot`` constraint keeps its two
sides apart whatever identifiers they share. Both survive any rebuild because they are applied on every run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

WEIGHTS: dict[str, float] = {
    "phone": 1.0, "wechat": 1.0, "qq": 1.0, "email": 1.0, "url": 1.0, "domain": 1.0, "company": 1.0,
    "brand": 0.6, "app": 0.5, "phone_partial": 0.4, "region": 0.0,
}  # fmt: skip
# identifiers every operator may show: platforms' own domains and numbers, never evidence of one operator
GLOBAL_STOP: frozenset[tuple[str, str]] = frozenset(
    [("domain", d) for d in (
        "weibo.com", "weibo.cn", "t.cn", "qq.com", "baidu.com", "sina.com.cn", "sohu.com", "163.com", "126.com",
        "taobao.com", "tmall.com", "jd.com", "douyin.com", "kuaishou.com", "weixin.qq.com", "alipay.com",
        "gov.cn", "people.com.cn", "xinhuanet.com", "58.com", "ganji.com", "baixing.com", "pinduoduo.com",
    )]
    + [("phone", p) for p in ("+8695588", "+8695533", "+8695599", "+8695566", "+8695555", "+8612315", "+8612345")]
)  # fmt: skip
WEAK_KEY_MAX_DOCS = 50  # a weak identifier on more documents is not compared pair by pair


@dataclass(frozen=True)
class LinkConfig:
    """Weights and hub limits. An identifier is a hub when more than ``hub_documents`` documents carry it, or
    documents of more than ``hub_publishers`` distinct publishers do (one operator posts under a few names)."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))
    threshold: float = 1.0
    hub_documents: int = 200
    hub_publishers: int = 6
    stop: frozenset[tuple[str, str]] = GLOBAL_STOP

    def weight(self, kind: str) -> float:
        return float(self.weights.get(kind, 0.0))


@dataclass(frozen=True)
class CannotLink:
    """An inspector's split: documents of side ``a`` never share an operator with documents of side ``b``."""

    id: int
    a: frozenset[int]
    b: frozenset[int]


class UnionFind:
    """Union-find whose roots carry cannot-link tags; a union that would join both sides of one is refused."""

    def __init__(self, items: Iterable[int], cannot: Sequence[CannotLink] = ()) -> None:
        self.parent = {i: i for i in items}
        self.size = dict.fromkeys(self.parent, 1)
        self.tags: dict[int, set[tuple[int, str]]] = defaultdict(set)
        for c in cannot:
            for side, docs in (("a", c.a), ("b", c.b)):
                for d in docs:
                    if d in self.parent:
                        self.tags[d].add((c.id, side))
        self.refused = 0

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, x: int, y: int) -> bool:
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return True
        tx, ty = self.tags.get(rx), self.tags.get(ry)
        if tx and ty and any((cid, "b" if side == "a" else "a") in ty for cid, side in tx):
            self.refused += 1
            return False
        if self.size[rx] < self.size[ry]:
            rx, ry = ry, rx
        self.parent[ry] = rx
        self.size[rx] += self.size[ry]
        if ty:
            self.tags[rx] |= ty
            del self.tags[ry]
        return True

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for x in self.parent:
            out[self.find(x)].append(x)
        return sorted((sorted(g) for g in out.values()), key=lambda g: g[0])


def components(
    doc_keys: Mapping[int, Iterable[tuple[str, str]]],
    config: LinkConfig = LinkConfig(),
    *,
    must: Sequence[Iterable[int]] = (),
    cannot: Sequence[CannotLink] = (),
) -> list[list[int]]:
    """Operators (sorted lists of document ids) of the given documents and their usable identifier keys.

    ``doc_keys`` holds only usable keys: hubs and stopped identifiers are the caller's to drop. Order of work: the
    inspectors' must-links, then strong keys (weight >= threshold), then pairs whose shared weak keys add up.
    """
    uf = UnionFind(doc_keys, cannot)
    for group in must:
        members = [d for d in group if d in uf.parent]
        for other in members[1:]:
            uf.union(members[0], other)
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for doc, keys in doc_keys.items():
        for key in set(keys):
            if config.weight(key[0]) > 0:
                by_key[key].append(doc)
    weak: dict[tuple[int, int], float] = defaultdict(float)
    for key in sorted(by_key):
        docs = sorted(by_key[key])
        if len(docs) < 2:
            continue
        w = config.weight(key[0])
        if w >= config.threshold:
            for other in docs[1:]:
                uf.union(docs[0], other)
        elif len(docs) <= WEAK_KEY_MAX_DOCS:
            for i, a in enumerate(docs):
                for b in docs[i + 1 :]:
                    weak[(a, b)] += w
    for (a, b), total in sorted(weak.items()):
        if total >= config.threshold - 1e-9:
            uf.union(a, b)
    return uf.groups()


def reconcile(
    groups: Sequence[Sequence[int]], old: Mapping[int, int], sizes: Mapping[int, int]
) -> list[int | None]:
    """Stable operator ids: for each new group, the old operator id it continues, or None for a new operator.

    A group continues the old operator it shares most documents with (then the larger old operator, then the
    older id); each old id continues at most one group, larger groups choosing first. ``old`` maps document →
    its old operator, ``sizes`` old operator → member count.
    """
    order = sorted(range(len(groups)), key=lambda i: (-len(groups[i]), groups[i][0] if groups[i] else 0))
    taken: set[int] = set()
    out: list[int | None] = [None] * len(groups)
    for i in order:
        overlap: dict[int, int] = defaultdict(int)
        for d in groups[i]:
            if d in old:
                overlap[old[d]] += 1
        for op, _ in sorted(overlap.items(), key=lambda kv: (-kv[1], -sizes.get(kv[0], 0), kv[0])):
            if op not in taken:
                taken.add(op)
                out[i] = op
                break
    return out


def pairs(groups: Iterable[Iterable[object]]) -> set[frozenset[object]]:
    """Every unordered pair of items that share a group."""
    out: set[frozenset[object]] = set()
    for g in groups:
        items = sorted(set(g), key=str)
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                out.add(frozenset((a, b)))
    return out


def pairwise_scores(
    predicted: Mapping[object, object], truth: Mapping[object, object]
) -> dict[str, float | int]:
    """Pairwise linking precision and recall: pairs put together by ``predicted`` (item → group) against ``truth``.

    Items missing from ``truth`` are left out; an item whose true group is None is alone.
    """
    items = [i for i in predicted if i in truth]
    pred_groups: dict[object, list[object]] = defaultdict(list)
    true_groups: dict[object, list[object]] = defaultdict(list)
    for i in items:
        pred_groups[predicted[i]].append(i)
        if truth[i] is not None:
            true_groups[truth[i]].append(i)
    p, t = pairs(pred_groups.values()), pairs(true_groups.values())
    tp = len(p & t)
    return {
        "precision": tp / len(p) if p else 1.0,
        "recall": tp / len(t) if t else 1.0,
        "predicted_pairs": len(p),
        "true_pairs": len(t),
        "true_positive_pairs": tp,
        "documents": len(items),
    }
