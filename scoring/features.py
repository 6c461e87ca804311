"""The combination's features: the lexicon's structured evidence, plus each model's score, with their Chinese names.

Every feature has a sign: +1 (evidence for a pitch: its weight is kept ≥ 0), −1 (counter-evidence: ≤ 0) or 0 (free).
That keeps the combined score monotone in every detector's score and in every piece of evidence, and lets the case
explanation say in plain words which evidence moved the score (:func:`phrase`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# lexicon categories grouped into one feature each (noisy-or of the hits' effective weights)
GROUPS: dict[str, tuple[str, ...]] = {
    "return": ("return_promise",),
    "rate": ("rate",),
    "solicit": ("solicit",),
    "recruit": ("recruitment",),
    "property": ("property",),
    "equity": ("equity",),
    "pension": ("pension",),
    "consumption": ("rebate", "membership"),
    "crypto": ("crypto", "fund_scheme"),
    "p2p_wealth": ("p2p", "wealth"),
    "agri_goods": ("agri", "coop", "collectibles", "spot_forex"),
    "legitimacy": ("legitimacy",),
    "lure": ("lure",),
    "combo": ("combo",),
}
COUNTERS: dict[str, str] = {
    "ctr_risk": "risk_disclosure",
    "ctr_news": "warning_news",
    "ctr_loan": "loan_offer",
    "ctr_licensed": "licensed",
}
# Texts shorter than this (SMS, listing titles, app blurbs, headlines) get a stage-1 weight of their own for every
# feature (``SHORT_PREFIX`` copies, scoring.combiner): the detectors' reliability differs with the length. Why 150:
# tools/detection_lab.py (seed v3, fitted on train, chosen on dev) gave dev F1 0.902 at 150 (real dev rows 0.813),
# 0.900 at 100 (0.805), against 0.894 (0.795) without the copies (classifier/README.md, "Stop 23").
SHORT_CHARS = 150
SHORT_PREFIX = "short:"
GUARANTEE_WORDS = ("保本", "保息", "保收益", "保证", "稳赚", "零风险", "无风险", "保底", "本金安全", "本金无忧")


@dataclass(frozen=True)
class Feature:
    name: str
    sign: int  # +1 evidence for, -1 against, 0 unconstrained
    source: str  # keywords | ngram | neighbours | classifier | text


def _features() -> list[Feature]:
    out = [Feature("kw_score", +1, "keywords")]
    out += [Feature(f"cat_{g}", +1, "keywords") for g in GROUPS]
    out += [
        Feature("rate_annual", +1, "keywords"),
        Feature("rate_masked", +1, "keywords"),
        Feature("min_amount", +1, "keywords"),
        Feature("term_buyback", +1, "keywords"),
        Feature("multiple", +1, "keywords"),
        Feature("guarantee", +1, "keywords"),
        Feature("guarantee_x_rate", +1, "keywords"),
        Feature("n_terms", +1, "keywords"),
        Feature("sender_unlicensed", +1, "keywords"),
        Feature("sender_impostor", +1, "keywords"),
        Feature("sender_licensed", -1, "keywords"),
        Feature("sender_ad_law", -1, "keywords"),
    ]
    out += [Feature(name, -1, "keywords") for name in COUNTERS]
    out += [Feature("n_counter", -1, "keywords"), Feature("length", 0, "text"), Feature("short", 0, "text")]
    return out


KEYWORD_FEATURES: list[Feature] = _features()
SIGN = {ft.name: ft.sign for ft in KEYWORD_FEATURES}
# the "who sells" rules of keywords.senders -> the feature each one sets
SENDER_RULES = {
    "unlicensed_offer": "sender_unlicensed",
    "impostor": "sender_impostor",
    "licensed_no_guarantee": "sender_licensed",
    "licensed_guarantee": "sender_ad_law",
}
NGRAM = Feature("ngram_logit", +1, "ngram")
CLASSIFIER = Feature("clf_logit", +1, "classifier")
NEIGHBOURS = Feature("neighbour_logodds", +1, "neighbours")


def _noisy_or(ws: Sequence[float]) -> float:
    keep = 1.0
    for w in ws:
        keep *= 1.0 - max(0.0, min(1.0, w))
    return 1.0 - keep


def keyword_features(result: Any | None, text: str) -> dict[str, float]:
    """Features of one ``keywords.MatchResult`` (``None``: the lexicon is off, all zeros)."""
    f = {ft.name: 0.0 for ft in KEYWORD_FEATURES}
    f["length"] = math.log1p(len(text or "")) / math.log(1000.0)
    f["short"] = float(len(text or "") < SHORT_CHARS)
    if result is None:
        return f
    f["kw_score"] = float(result.score)
    pos = [h for h in result.hits if not h.counter and h.weight > 0]
    neg = [h for h in result.hits if h.counter]
    by_cat: dict[str, list[float]] = {}
    for h in pos:
        by_cat.setdefault(h.category, []).append(h.weight)
    for g, cats in GROUPS.items():
        f[f"cat_{g}"] = _noisy_or([w for c in cats for w in by_cat.get(c, ())])
    annual = [h.value.get("annual_pct") for h in pos if h.rule == "rate" and h.value]
    annual = [a for a in annual if isinstance(a, int | float)]
    if annual:
        f["rate_annual"] = min(max(annual), 40.0) / 40.0
    f["rate_masked"] = float(any(h.rule == "rate" and h.value and h.value.get("masked") for h in pos))
    f["min_amount"] = float(any(h.rule == "min_amount" for h in pos))
    f["term_buyback"] = float(any(h.rule == "term_buyback" for h in pos))
    f["multiple"] = float(any(h.rule == "multiple" for h in pos))
    guarantee = any(h.category == "return_promise" and any(w in h.term for w in GUARANTEE_WORDS) for h in pos)
    f["guarantee"] = float(guarantee)
    f["guarantee_x_rate"] = float(guarantee and bool(annual or f["rate_masked"]))
    f["n_terms"] = math.log1p(len({h.term for h in pos})) / math.log(20.0)
    for h in result.hits:
        rule = (h.value or {}).get("rule") if h.rule == "sender" else None
        if rule in SENDER_RULES:
            f[SENDER_RULES[rule]] = 1.0
    for name, cat in COUNTERS.items():
        f[name] = max((h.base_weight or h.weight for h in neg if h.category == cat), default=0.0)
    f["n_counter"] = math.log1p(len({h.term for h in neg})) / math.log(10.0)
    return f


def clip_logit(x: float | None, bound: float = 12.0) -> float:
    if x is None or not math.isfinite(x):
        return -bound if x is None or x < 0 else bound
    return max(-bound, min(bound, float(x)))


def prob_logit(p: float, eps: float = 1e-5) -> float:
    p = min(1 - eps, max(eps, float(p)))
    return math.log(p / (1 - p))


# --------------------------------------------------------------------------------------------- explanation
def _terms(result: Any | None, cats: Sequence[str], k: int = 2) -> str:
    if result is None:
        return ""
    hits = sorted(
        (h for h in result.hits if not h.counter and h.category in cats and h.weight > 0), key=lambda h: -h.weight
    )
    names = list(dict.fromkeys(h.term for h in hits))[:k]
    return "、".join(names)


def _counter_terms(result: Any | None, cat: str, k: int = 2) -> str:
    if result is None:
        return ""
    return "、".join(list(dict.fromkeys(h.term for h in result.hits if h.counter and h.category == cat))[:k])


def _sender(result: Any | None, rule: str) -> str | None:
    """The sender named by this case's ``rule`` hit ("" when it names none); None when the rule did not fire."""
    for h in getattr(result, "hits", ()) or ():
        v = h.value or {}
        if h.rule == "sender" and v.get("rule") == rule:
            return str(v.get("institution") or v.get("sender") or "")
    return None


def _annual(result: Any | None) -> str:
    vals = [
        h.value
        for h in getattr(result, "hits", ()) or ()
        if h.rule == "rate" and not h.counter and h.value and isinstance(h.value.get("annual_pct"), int | float)
    ]
    if not vals:
        return ""
    best = max(vals, key=lambda v: v["annual_pct"])
    shown = f"{best['annual_pct']:g}"
    return f"不低于{shown}%" if best.get("masked") else f"{shown}%"


_GROUP_PHRASE = {
    "return": "承诺{t}",
    "solicit": "招揽投资（{t}）",
    "recruit": "拉人头返利（{t}）",
    "property": "房产返租回购（{t}）",
    "equity": "原始股股权（{t}）",
    "pension": "养老投资（{t}）",
    "consumption": "消费返利或会员分红（{t}）",
    "crypto": "虚拟货币或资金盘（{t}）",
    "p2p_wealth": "网贷理财（{t}）",
    "agri_goods": "种养殖、收藏品或现货（{t}）",
    "legitimacy": "借用背书（{t}）",
    "lure": "诱导手段（{t}）",
    "combo": "组合特征（{t}）",
}
# the words for each sender feature; {s} is the sender in brackets, when the rule names one
_SENDER_PHRASE = {
    "sender_unlicensed": "发布者非持牌机构{s}",
    "sender_impostor": "冒用持牌机构名义{s}并引向私人联系方式",
    "sender_licensed": "发布者为持牌机构{s}且无保本承诺",
    "sender_ad_law": "持牌机构{s}承诺保本：属广告法问题，非集资",
}
_RULE_OF = {feature: rule for rule, feature in SENDER_RULES.items()}
_COUNTER_PHRASE = {
    "ctr_risk": "含风险提示（{t}）",
    "ctr_news": "新闻或警示语境（{t}）",
    "ctr_loan": "贷款广告（{t}）",
    "ctr_licensed": "持牌金融机构用语（{t}）",
}


def short_copy(feature: Feature) -> Feature:
    """The feature's copy that only short texts carry (its value times ``short``), with the feature's sign."""
    return Feature(SHORT_PREFIX + feature.name, feature.sign, feature.source)


def _strength(p: float, up: bool, yes: str, no: str) -> str:
    """A detector's words in one case: its own verdict when that agrees with the way it pushed the score, else
    only the push. A score of 0.42 sits above the average case and raises the combined score, but the detector
    did not "判为集资宣传"; saying so would contradict the number shown beside it."""
    if up:
        return yes if p >= 0.5 else "得分偏高"
    return no if p < 0.5 else "得分偏低"


def phrase(name: str, up: bool, result: Any | None, extra: Mapping[str, Any]) -> str | None:
    """The Chinese words for one feature in one case (``up``: it raised the score); None: not worth naming."""
    if name == "kw_score":
        v = float(extra.get("kw_score", 0))
        return f"关键词证据{_strength(v, up, '较强', '较弱')}（{v:.2f}）"
    if name.startswith("cat_"):
        g = name[4:]
        if g == "rate":
            a = _annual(result)
            if not up or not _terms(result, GROUPS[g]):  # its absence is no evidence to name
                return None
            return f"给出年化收益{a}" if a else "给出收益率"
        t = _terms(result, GROUPS[g])
        return _GROUP_PHRASE[g].format(t=t) if t and up else None
    if name in ("rate_annual", "rate_masked"):
        a = _annual(result)
        return f"给出年化收益{a}" if a and up else None
    if name == "guarantee" or name == "guarantee_x_rate":
        t = _terms(result, ("return_promise",))
        a = _annual(result)
        if not up:
            return None
        return f"承诺{t}并给出年化收益{a}" if name == "guarantee_x_rate" and t and a else (f"承诺{t}" if t else None)
    if name == "min_amount":
        return "设起投金额" if up else None
    if name == "term_buyback":
        return "承诺到期回购或返本" if up else None
    if name == "multiple":
        return "承诺倍数回报" if up else None
    if name == "n_terms":
        return "命中多项集资特征" if up else None
    if name in _SENDER_PHRASE:
        # a sender rule is named only when it fired and pushed the way its sign says: its absence also moves a
        # standardised score, but "发布者为持牌机构" must never be said of a text with no licensed sender
        s = _sender(result, _RULE_OF[name])
        if s is None or up != (SIGN[name] > 0):
            return None
        return _SENDER_PHRASE[name].format(s=f"（{s}）" if s else "")
    if name in _COUNTER_PHRASE:
        t = _counter_terms(result, COUNTERS[name])
        return _COUNTER_PHRASE[name].format(t=t) if t and not up else None
    if name == "n_counter":
        return "多处反证" if not up else None
    if name == "ngram_logit":
        p = float(extra.get("ngram_prob", 0.0))
        top = extra.get("ngram_top") or []
        tail = f"，{'、'.join(top)}" if up and top else ""
        return f"字符模型{_strength(p, up, '判为集资宣传', '判为非集资')}（{p:.2f}{tail}）"
    if name == "neighbour_logodds":
        near = [i for i, label, _ in extra.get("neighbours_near") or [] if bool(label) == up]
        tail = f"：{'、'.join(near)}" if near else ""
        return f"与已判定为{'集资宣传' if up else '非集资'}的样本相近{tail}"
    if name == "clf_logit":
        p = float(extra.get("classifier_prob", 0.0))
        return f"分类器{_strength(p, up, '判为集资宣传', '判为非集资')}（{p:.2f}）"
    return None
