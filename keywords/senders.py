"""Who sells: the sender a text names, whether it is a licensed institution, and whether it guarantees returns.

The rubric's "who sells decides" rule (labeling.md, DATA.md convention 5):
- a licensed sender (bank, securities firm, insurer, trust, public fund) that guarantees nothing → ``finance_legit``;
- a licensed sender that promises 保本 / 保收益 / 保证收益 on a non-deposit product → ``ad_law`` (广告法 Art 25, not
  fundraising);
- an "xx财富 / xx金融 / xx投资管理" firm offering a yield, a guarantee or an investment product (理财产品, 认购, 起投,
  投资送礼 …) → ``fundraising``; a loan offer's interest rate (贷款, 放款, 抵押 … and nothing invested) is no such offer
  (the rubric's ``loan_ad``).
A licensed name next to a private channel (加微信, QQ群) or 内部产品 is an impostor (domain.md §2B: fake bank staff
selling "internal products"), which is evidence *for* fundraising.

Only the places where a text names its sender count: 【…】/[…] at the start or end, the opening words, a
self-introduction (我是…, 欢迎致电…) and a signature near the end (…银行客服, a staff name, 退订回T). A bank mentioned in
running text (利息比银行高) says nothing about who sells. Works on the lexicon's normalised text (lower case, 繁→简,
full-width folded), so offsets are normalised offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick
import yaml

from .normalize import normalize_term

DATA = Path(__file__).parent / "data" / "licensed_institutions.yaml"

# rule names, and the rubric label each one stands for
LICENSED_NO_GUARANTEE = "licensed_no_guarantee"  # finance_legit
LICENSED_GUARANTEE = "licensed_guarantee"  # ad_law
UNLICENSED_OFFER = "unlicensed_offer"  # fundraising
IMPOSTOR = "impostor"  # fundraising (borrowed legitimacy)
RUBRIC_LABEL = {
    LICENSED_NO_GUARANTEE: "finance_legit",
    LICENSED_GUARANTEE: "ad_law",
    UNLICENSED_OFFER: "fundraising",
    IMPOSTOR: "fundraising",
}

_HAN = "\u4e00-\u9fff"
_BRACKET = re.compile(r"[【\[]([^【】\[\]]{1,30})[】\]]")
# greetings an SMS opens with before naming its sender (您好！财商财富推出…)
_GREETING = re.compile(
    r"(?:(?:您好|你好|尊敬的(?:客户|会员|贵宾|先生|女士|朋友|用户)?(?:您好)?|亲爱的(?:客户|会员|朋友|用户)?|新年好|新春快乐|"
    r"周[一二三四五六日]好|早上好|上午好|下午好|晚上好|大家好)[\s,.。!?;:、~]*)+"
)
_INTRO = re.compile(r"我是|这里是|这边是|欢迎致电|感谢您?致电|感谢您?关注|来自|本人是|我们是|我在")
_TAIL_MARK = re.compile(r"客服|敬上|敬启|谨上|祝|提醒您|提示您|退订|回t|回复t|回td|拒收|热线")
# non-deposit guarantees (广告法 Art 25 (一)); 保本 in 确保/担保/环保 is no guarantee
_GUARANTEE = re.compile(
    r"保本保息|保本保收益|保本付息|保本高收益|(?<![确担环])保本|保息|保收益|保证收益|保证本金|保障本金|保底收益|保底|"
    r"本息全?保障|本息保证|本金安全|本金无忧|稳赚不赔|稳赚|零风险|无风险|刚性兑付|承诺收益|保证回报|保证年利率|保证年化|"
    r"(?<![到])还本|返本"
)
# an investment product on offer, without a rate: 理财产品, 认购, 起投, 投资期限, 开单 (and gifts for investing)
_INVEST_OFFER = re.compile(
    r"理财产品|理财计划|认购|起投|起购|起售|投资期限|开单|收益|年化|回报|分红|返息|付息|"
    r"(?:投资|购买|理财).{0,16}(?:送|赠)"
)
# a credit offer: its interest rate is a price, not a yield
_LOAN = re.compile(r"贷款|放款|借款|抵押|下款|批款|过件|信用贷|资金需求|用款|用钱|征信|垫资|过桥|额度高|利息低|低息")
# 金融办, 金融工作局, 金融监管…: a regulator or a column, not a firm
_NOT_FIRM_AFTER = re.compile(r"办|局|工作|监管|稳定|知识|观察|研究|犯罪|风险|专栏")
_NEGATION = re.compile(r"(?:不|非|无|未|并非|并不|不能|不会|不再|没有|绝不|不承诺|不保证|不代表)\s?$")
_DEPOSIT = re.compile(r"存款|大额存单|存单|定期|活期|储蓄国债|国债|凭证式")
_PRODUCT = re.compile(r"理财|基金|产品|(?<!存款)保险|年金|信托|计划|债券|收益")
# a private channel or an "internal" product: a licensed name does not make these the bank
_PRIVATE = re.compile(
    r"(?:加|\+|添加)(?:我|本人)?(?:的)?(?:个人)?(?:微信|v信|vx|wx|v|威信|薇信|qq|扣扣)|微信号?[:：]?\s?[a-z][a-z0-9_-]{4,}|"
    r"qq(?:群|号)?[:：]?\s?[0-9x]{5,}|私聊|私信我|内部产品|内部渠道|内部额度|内部名额"
)
_UNLICENSED = re.compile(
    rf"(?P<name>[{_HAN}]{{2,8}}?(?:财富管理|资产管理|投资管理|投资咨询|金融服务|金融信息服务|财富|金融|金服|资本|资产|"
    rf"(?P<weak>投资|理财)(?=有限公司|公司|集团|中心|平台|的)))(?:有限公司|公司|集团|中心|平台)?"
)
_INST_CHAR = re.compile(
    r"(?=[银证保人寿财信基金资投理储中农建交工招邮国])(?:银行|证券|保险|人寿|寿险|财险|信托|基金|财富|金融|金服|资本|资产|投资|理财|"
    r"储蓄|[中农建交工招]行|邮储|国寿)"
)
_FIRM_WORD = re.compile(r"(?=[财金资投理])(?:财富|金融|金服|资本|资产|投资|理财)")
_UNLICENSED_OPENING = re.compile(_UNLICENSED.pattern.replace("{2,8}?", "{2,4}?"))
_SUFFIX_NAME = r"[{h}]{{1,10}}?(?:{suffixes})"
_STRONG_SUFFIX = re.compile(
    rf"[{_HAN}]{{2,6}}?(?:村镇银行|农商银行|农村商业银行|商业银行|农商行|信用社|农信社|人寿|财险|寿险|证券|保险公司)"
)


@dataclass(frozen=True)
class Institution:
    name: str  # canonical name
    kind: str  # bank | securities | fund | insurer | trust
    registry: str


@dataclass(frozen=True)
class Sender:
    kind: str  # licensed | unlicensed
    text: str  # the name as it stands in the (normalised) text
    start: int
    end: int
    position: str  # bracket_start | bracket_end | opening | self_intro | signature
    institution: Institution | None = None
    listed: bool = False  # in the registry list (False: recognised by its suffix, e.g. xx村镇银行)


@dataclass
class SellerEvidence:
    senders: list[Sender] = field(default_factory=list)
    guarantees: list[tuple[int, int, str]] = field(default_factory=list)  # non-negated, non-deposit
    private_contact: bool = False
    offer: bool = False  # a yield, a guarantee or an investment product is offered (a loan's rate is not)
    rule: str | None = None
    sender: Sender | None = None  # the sender the rule is about

    @property
    def rubric_label(self) -> str | None:
        return RUBRIC_LABEL.get(self.rule or "")


class InstitutionList:
    """The licensed-institution list, compiled into one automaton over every name and alias."""

    def __init__(self, data: dict):
        self.version = str(data.get("version", ""))
        self.by_key: dict[str, Institution] = {}
        self.ambiguous: dict[str, Institution] = {}
        self.groups: dict[str, dict] = {}
        for gname, g in (data.get("groups") or {}).items():
            self.groups[gname] = {k: g.get(k) for k in ("kind", "registry", "as_of")}
            for item in g.get("names") or []:
                names = [item] if isinstance(item, str) else list(item)
                inst = Institution(str(names[0]), str(g["kind"]), str(g["registry"]))
                for n in names:
                    self.by_key.setdefault(normalize_term(str(n)), inst)
        for alias, canon in (data.get("ambiguous_aliases") or {}).items():
            inst = self.by_key.get(normalize_term(str(canon)))
            if inst is None:
                raise ValueError(f"ambiguous alias {alias!r} names {canon!r}, which is not listed")
            self.ambiguous[normalize_term(str(alias))] = inst
        self.suffix_kind: dict[str, str] = {}
        for kind, words in (data.get("suffixes") or {}).items():
            for w in words:
                self.suffix_kind[normalize_term(str(w))] = str(kind)
        self._auto = ahocorasick.Automaton()
        for key in self.by_key:
            self._auto.add_word(key, key)
        self._auto.make_automaton()
        alts = "|".join(sorted(map(re.escape, self.suffix_kind), key=len, reverse=True))
        self._suffix_rx = re.compile(_SUFFIX_NAME.format(h=_HAN, suffixes=alts))

    @classmethod
    def bundled(cls) -> InstitutionList:
        return _bundled()

    def __len__(self) -> int:
        return len({i.name for i in self.by_key.values()})

    def listed_in(self, s: str, offset: int = 0) -> list[tuple[int, int, Institution]]:
        """Listed names inside ``s`` (longest first where they overlap), as spans shifted by ``offset``."""
        found = []
        for end, key in self._auto.iter(s):
            start = end - len(key) + 1
            found.append((start + offset, end + 1 + offset, self.by_key[key]))
        found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
        out: list[tuple[int, int, Institution]] = []
        for f in found:
            if out and f[0] < out[-1][1]:
                continue
            out.append(f)
        return out

    def suffix_kind_of(self, name: str) -> str | None:
        for suf, kind in sorted(self.suffix_kind.items(), key=lambda kv: -len(kv[0])):
            if suf in name:
                return kind
        return None

    # ------------------------------------------------------------------------------------------------ analyse
    def senders(self, text: str) -> list[Sender]:
        """Every sender the text names, at the places where texts name their sender."""
        out: list[Sender] = []
        n = len(text)
        # cheap exit: no bracket, no self-introduction and no institution-like character where a sender could stand
        if (
            "【" not in text
            and "[" not in text
            and _INST_CHAR.search(text, 0, 28) is None
            and _INST_CHAR.search(text, max(0, n - 34)) is None
            and _INTRO.search(text) is None
        ):
            return out
        lead = len(text) - len(text.lstrip(" ,。!?;:、-—~*·\"'“”"))
        trail = len(text.rstrip(" ,。!?;:、-—~*·\"'“”"))
        for m in _BRACKET.finditer(text):
            if m.start() <= lead + 2:
                pos = "bracket_start"
            elif m.end() >= trail - 2:
                pos = "bracket_end"
            else:
                continue
            out.extend(self._in_span(text, m.start(1), m.end(1), pos, bracket=True))
        # the opening words: a name within the first characters is the text's subject
        head = text[lead : lead + 24]
        if head and not head.startswith(("【", "[")):
            out.extend(self._at(text, lead, lead + len(head), "opening", anchored=True))
            g = _GREETING.match(text, lead)
            if g and g.end() > lead:  # 您好！财商财富…: the sender follows the greeting
                out.extend(self._at(text, g.end(), min(n, g.end() + 24), "opening", anchored=True))
        for m in _INTRO.finditer(text):
            out.extend(self._at(text, m.end(), min(n, m.end() + 24), "self_intro", anchored=False, slack=6))
        # a signature: a name near the end followed by a staff name, a sign-off or an unsubscribe line
        tail_start = max(0, trail - 30)
        for start, end, inst in self.listed_in(text[tail_start:trail], tail_start):
            if _is_signature(text, start, end, trail):
                out.append(Sender("licensed", text[start:end], start, end, "signature", inst, True))
        if _FIRM_WORD.search(text, tail_start, trail):  # the name regex is slow; most tails name no firm
            for m in _UNLICENSED.finditer(text, tail_start, trail):
                if _is_signature(text, m.start("name"), m.end(), trail):
                    out.extend(self._unlicensed(text, m, "signature"))
        return _dedupe(out)

    def _in_span(self, text: str, s: int, e: int, pos: str, bracket: bool) -> list[Sender]:
        content = text[s:e]
        listed = self.listed_in(content, s)
        if listed:
            a, b, inst = listed[0]
            return [Sender("licensed", text[a:b], a, b, pos, inst, True)]
        if bracket:
            for alias, inst in self.ambiguous.items():
                if content.startswith(alias) and (
                    len(content) == len(alias) or re.match(r"[\u4e00-\u9fff]{0,6}(?:支行|分行|营业部|中心|客服)", content[len(alias):])
                ):
                    return [Sender("licensed", alias, s, s + len(alias), pos, inst, True)]
        m = _UNLICENSED.search(content)
        if m and m.start() == 0:
            return self._unlicensed(text, _shift(m, s), pos)
        kind = self.suffix_kind_of(content)
        if kind is not None:
            return [Sender("licensed", content, s, e, pos, Institution(content, kind, "by name"), False)]
        return []

    def _at(self, text: str, s: int, e: int, pos: str, anchored: bool, slack: int = 1) -> list[Sender]:
        """A listed name (or an xx财富-style firm) starting within ``slack`` characters of ``s``.

        Names recognised only by their suffix count here after a self-introduction, and only for suffixes that name
        an institution type (xx村镇银行, xx人寿): an opening like 支持使用银行卡 or 别让你的钱躺在银行 is no sender.
        """
        window = text[s:e]
        for a, b, inst in self.listed_in(window, s):
            if a - s <= slack:
                return [Sender("licensed", text[a:b], a, b, pos, inst, True)]
            break
        m = (_UNLICENSED_OPENING.match(window) if anchored else _UNLICENSED.search(window))
        if m and m.start() <= (0 if anchored else slack):
            return self._unlicensed(text, _shift(m, s), pos)
        if not anchored:
            sm = _STRONG_SUFFIX.match(window)
            if sm:
                name = sm.group(0)
                kind = self.suffix_kind_of(name) or "bank"
                return [Sender("licensed", name, s, s + len(name), pos, Institution(name, kind, "by name"), False)]
        return []

    def _unlicensed(self, text: str, m: re.Match | _Shifted, pos: str) -> list[Sender]:
        name = m.group("name")
        start, end = m.start("name"), m.end("name")
        if self.listed_in(name) or self.suffix_kind_of(name):
            return []  # 招商银行财富管理中心 is the bank's own unit
        if _NOT_FIRM_AFTER.match(text, end):
            return []
        return [Sender("unlicensed", name, start, end, pos)]

    def analyse(self, text: str, rate_present: bool = False) -> SellerEvidence:
        """The sender(s), the guarantees and the rule that applies (``None`` when no sender is named)."""
        ev = SellerEvidence(senders=self.senders(text))
        if not ev.senders:
            return ev
        for m in _GUARANTEE.finditer(text):
            if _NEGATION.search(text[max(0, m.start() - 4) : m.start()]):
                continue
            near = text[max(0, m.start() - 15) : m.end() + 15]
            if _DEPOSIT.search(near) and not _PRODUCT.search(near):
                continue  # a deposit is principal-protected by law (存款保险条例): quoting that is no breach
            ev.guarantees.append((m.start(), m.end(), m.group(0)))
        ev.private_contact = bool(_PRIVATE.search(text))
        invest = bool(ev.guarantees) or bool(_INVEST_OFFER.search(text))
        ev.offer = invest or (rate_present and not _LOAN.search(text))
        licensed = [s for s in ev.senders if s.kind == "licensed"]
        unlicensed = [s for s in ev.senders if s.kind == "unlicensed"]
        if licensed:
            ev.sender = licensed[0]
            if ev.private_contact:
                ev.rule = IMPOSTOR
            elif ev.guarantees:
                ev.rule = LICENSED_GUARANTEE
            else:
                ev.rule = LICENSED_NO_GUARANTEE
        elif unlicensed and ev.offer:
            ev.sender = unlicensed[0]
            ev.rule = UNLICENSED_OFFER
        return ev


_SIG_BEFORE = re.compile(r"[\s,.。!?;:、\-—~*·】\]x0-9]$")
_SIG_AFTER = re.compile(rf"[{_HAN}]{{0,3}}(?:客服|敬上|谨上|祝|提醒|退订|回t|回复t|拒收|热线)")


def _is_signature(text: str, start: int, end: int, trail: int) -> bool:
    """A name that signs the text: at its very end (perhaps with a staff name), before a sign-off, or next to an
    unsubscribe line (退订回T) — not a bank named somewhere in the last sentence."""
    rest = text[end:trail]
    if len(rest) <= 4 and (start == 0 or _SIG_BEFORE.search(text[start - 1 : start])):
        return True
    return bool(_SIG_AFTER.match(rest)) or bool(re.search(r"退订|回t|拒收", rest))


@dataclass(frozen=True)
class _Shifted:
    """A regex match seen from a larger string (offsets shifted)."""

    m: re.Match
    off: int

    def group(self, g: str) -> str:
        return self.m.group(g)

    def start(self, g: str | int = 0) -> int:
        return self.m.start(g) + self.off

    def end(self, g: str | int = 0) -> int:
        return self.m.end(g) + self.off


def _shift(m: re.Match, off: int) -> _Shifted:
    return _Shifted(m, off)


def _dedupe(senders: list[Sender]) -> list[Sender]:
    seen: set[tuple[int, int]] = set()
    out = []
    for s in sorted(senders, key=lambda s: (s.kind != "licensed", s.start)):
        if (s.start, s.end) in seen:
            continue
        seen.add((s.start, s.end))
        out.append(s)
    return out


@lru_cache(maxsize=1)
def _bundled() -> InstitutionList:
    return InstitutionList(yaml.safe_load(DATA.read_text(encoding="utf-8")))


def analyse(text: str, rate_present: bool = False) -> SellerEvidence:
    """:meth:`InstitutionList.analyse` with the bundled list (normalised text expected)."""
    return _bundled().analyse(text, rate_present)
