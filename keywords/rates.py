"""Rate, amount and term patterns with extracted values (年化12%, 月息三分, 百分之二十, x万起投, 5年回购).

Why values: domain.md §2A — 收益率超过6%要打问号、超过8%很危险、10%以上准备损失全部本金, so a 15 % yield must weigh more
than a 3 % deposit rate. Digits masked as ``x`` (SMS corpus) still tell the magnitude: ``xx%`` is at least 10 %.
All patterns run on the normalised text (full-width folded, 繁→简, symbols between Han removed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}

NUM = r"(?:[0-9x]+(?:\.[0-9x]+)?|[零一二两三四五六七八九十百千]+(?:点[零一二三四五六七八九]+)?)"


def cn_to_number(s: str) -> float | None:
    """Chinese or Arabic numeral → float; None when digits are masked (x) or unparsable."""
    if not s:
        return None
    if "x" in s:
        return None
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", s):
        return float(s)
    if "点" in s:
        whole, frac = s.split("点", 1)
        w = cn_to_number(whole) if whole else 0.0
        if w is None or not all(c in _CN_DIGITS for c in frac):
            return None
        return w + float("0." + "".join(str(_CN_DIGITS[c]) for c in frac))
    total, cur = 0, 0
    for ch in s:
        if ch in _CN_DIGITS:
            cur = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (cur or 1) * _CN_UNITS[ch]
            cur = 0
        else:
            return None
    return float(total + cur)


def masked_floor(s: str) -> float | None:
    """Lower bound of a masked number: 'xx' → 10, 'x.x' → 1, 'x' → 1."""
    if "x" not in s:
        return None
    whole = s.split(".")[0]
    return float(10 ** (len(whole) - 1)) if whole else None


@dataclass(slots=True)
class Extract:
    kind: str  # rate | min_amount | term_buyback | multiple
    start: int  # normalised span
    end: int
    value: dict = field(default_factory=dict)
    weight: float = 0.0
    label: str = ""


_ANNUAL = r"(?:预期年化|年化|年收益|年利息|年利率|年息|年回报|年均回报|年均收益|年返|每年返|年分红|年均返租回报|年租金回报|年固定回报)"
_MONTHLY = r"(?:月息|月利率|月收益|月回报|每月返|月返|月利息|月分红|每月分红|月化)"
_DAILY = r"(?:日息|日利率|日收益|日结|日返|每天返|每日返|天天返|日化|每天收益)"
_UNIT = r"(?:%|个点|厘|分(?!钟|享|红|析|行|期|类|配|公司|之)|‰)"
_GAP = r"[^0-9x,。;!?零一二两三四五六七八九十百]{0,8}?"

_RATE = re.compile(
    rf"(?P<per>{_ANNUAL}|{_MONTHLY}|{_DAILY}){_GAP}"
    rf"(?:百分之(?P<bnum>{NUM})|(?P<num>{NUM})(?:[-~到至](?P<num2>{NUM}))?(?P<unit>{_UNIT}))"
    rf"|(?P<pct>百分之(?P<pnum>{NUM}))"
    rf"|(?P<gnum>{NUM})(?:[-~到至](?P<gnum2>{NUM}))?(?P<gunit>%|个点)(?=[^,。;!?]{{0,4}}(?:收益|回报|利息|返利|分红|年化|收入))"
    rf"|(?:收益|回报|利息|返利|分红|收益率|回报率)(?:率)?(?:高达|达到|达|为|超过|超|约|稳定|可达|最高)?(?P<rnum>{NUM})(?:[-~到至](?P<rnum2>{NUM}))?(?P<runit>%|个点)"
)
_AMOUNT = re.compile(
    rf"(?P<num>{NUM})(?P<unit>万|千|百|元)元?(?:人民币)?(?:即可|就可|就能)?(?:起投|起购|起存|起点|起步|即可投资|即可加盟|即可入股)"
    rf"|(?:起投|认购起点|投资门槛|起投金额)(?:金额)?(?:为|仅|只需)?(?P<num2>{NUM})(?P<unit2>万|千|百|元)"
)
_TERM = re.compile(
    rf"(?P<num>{NUM})(?:个)?(?P<unit>年|个月|月)(?:后|期满|到期)?(?:回购|返本|退本|还本|返租|包租|全额返还|原价回购|本金返还)"
    rf"|(?:回购|返租|包租|带租约)(?:期)?(?P<num2>{NUM})(?P<unit2>年)"
)
_MULTIPLE = re.compile(rf"(?:收益|回报|翻)(?P<num>{NUM})倍|(?P<num2>{NUM})倍(?:收益|回报|返还)")

_NUMCH = "0-9x零一二两三四五六七八九十百千"


def _fast(rx: re.Pattern[str], first: str) -> re.Pattern[str]:
    """Prefix a look-ahead character class so the regex engine skips positions that cannot start a match (~3x)."""
    return re.compile(f"(?=[{first}])(?:{rx.pattern})")


_RATE = _fast(_RATE, "年月日每天预百收回利分" + _NUMCH)
_AMOUNT = _fast(_AMOUNT, "起认投" + _NUMCH)
_TERM = _fast(_TERM, "回返包带" + _NUMCH)
_MULTIPLE = _fast(_MULTIPLE, "收回翻" + _NUMCH)

# Cheap prefilters: each family's regex only runs when its tell-tale characters occur (most texts have none).
# (Every alternative starts with a literal character, so the engine skips ahead by one class test per character.)
_RATE_TRIGGER = re.compile(r"%|‰|厘|个点|百分之|年息|月息|日息|利率|月化|日化")
_AMOUNT_TRIGGER = re.compile(r"起|门槛")
_TERM_TRIGGER = re.compile(r"回购|返本|退本|还本|返租|包租|租约|全额返还|本金返还")
# Any of the above (or 倍): one pass that lets the ~85 % of texts with none of them skip all four families.
_ANY_TRIGGER = re.compile(
    "|".join([_RATE_TRIGGER.pattern, _AMOUNT_TRIGGER.pattern, _TERM_TRIGGER.pattern, "倍"])
)


def _annual_weight(annual: float) -> float:
    if annual <= 4.5:
        return 0.2
    if annual <= 6:
        return 0.35
    if annual <= 8:
        return 0.5
    if annual <= 10:
        return 0.6
    if annual <= 15:
        return 0.75
    return 0.85


def _rate_value(num: str, unit: str, period: str) -> tuple[float | None, float | None, bool]:
    """(stated value in %, annualised %, masked) for one number + unit + period."""
    v = cn_to_number(num)
    masked = v is None and "x" in num
    if v is None:
        v = masked_floor(num)
        if v is None:
            return None, None, masked
    pct = v
    if unit == "分":
        pct = v * (10.0 if period == "year" else 1.0)
    elif unit == "厘":
        pct = v * (1.0 if period == "year" else 0.1)
    elif unit == "‰":
        pct = v / 10.0
    mult = {"year": 1.0, "month": 12.0, "day": 365.0}.get(period, 1.0)
    return pct, pct * mult, masked


def _period(per: str) -> str:
    if re.fullmatch(_ANNUAL, per):
        return "year"
    if re.fullmatch(_MONTHLY, per):
        return "month"
    return "day"


def extract(text: str) -> list[Extract]:
    """All rate / amount / term / multiple extracts in a normalised text."""
    out: list[Extract] = []
    if _ANY_TRIGGER.search(text) is None:
        return out
    for m in _RATE.finditer(text) if _RATE_TRIGGER.search(text) else ():
        if m.group("per"):
            period = _period(m.group("per"))
            num, unit = (
                (m.group("bnum"), "%")
                if m.group("bnum")
                else (m.group("num2") or m.group("num"), m.group("unit"))
            )
        elif m.group("pct"):
            period, num, unit = "unknown", m.group("pnum"), "%"
        elif m.group("gnum"):
            period, num, unit = "unknown", m.group("gnum2") or m.group("gnum"), m.group("gunit")
        else:
            period, num, unit = "unknown", m.group("rnum2") or m.group("rnum"), m.group("runit")
        if unit == "个点" and period == "unknown":
            unit = "%"
        stated, annual, masked = _rate_value(num, unit if unit != "个点" else "%", period)
        if annual is None:
            continue
        w = _annual_weight(annual)
        if masked:
            w = min(w, 0.75) if annual >= 10 else 0.35
        if period == "unknown":
            w *= 0.8
        shown = f"≥{annual:g}" if masked else f"{annual:g}"
        label = f"年化{shown}%" if period != "unknown" else f"利率{'≥' if masked else ''}{stated:g}%"
        out.append(
            Extract(
                "rate",
                m.start(),
                m.end(),
                {"period": period, "stated_pct": stated, "annual_pct": round(annual, 3), "masked": masked},
                round(w, 3),
                label,
            )
        )
    for m in _AMOUNT.finditer(text) if _AMOUNT_TRIGGER.search(text) else ():
        num = m.group("num") or m.group("num2")
        unit = m.group("unit") or m.group("unit2")
        v = cn_to_number(num)
        mult = {"万": 10000, "千": 1000, "百": 100, "元": 1}[unit]
        amount = v * mult if v is not None else None
        out.append(
            Extract(
                "min_amount",
                m.start(),
                m.end(),
                {"amount_yuan": amount, "masked": v is None},
                0.3,
                "起投金额",
            )
        )
    for m in _TERM.finditer(text) if _TERM_TRIGGER.search(text) else ():
        num = m.group("num") or m.group("num2")
        unit = m.group("unit") or m.group("unit2")
        v = cn_to_number(num)
        years = None if v is None else (v if unit == "年" else v / 12.0)
        out.append(Extract("term_buyback", m.start(), m.end(), {"years": years}, 0.6, "到期回购/返本"))
    for m in _MULTIPLE.finditer(text) if "倍" in text else ():
        v = cn_to_number(m.group("num") or m.group("num2"))
        out.append(Extract("multiple", m.start(), m.end(), {"multiple": v}, 0.55, "倍数回报"))
    return out
