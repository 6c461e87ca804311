"""Reading aid: print the next batch of undecided candidates from one pool, with a heuristic proposal.

The proposal only orders and pre-fills; every row's final code is checked by a person reading the text and
recorded with `decide`. Usage (from the repository root):
  python -m tools.seed_data.review show POOL [N]      # writes the batch file (--batch, default var/labelling/batch.tsv)
  python -m tools.seed_data.review decide "3=W 7=O"   # accepts the batch with these overrides (S = skip)
  python -m tools.seed_data.review stats
  python -m tools.seed_data.review sizes               # candidates per pool
`--decisions FILE` names the decisions file to read and append to (default: the classifier's decisions.tsv).
"""

from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from pathlib import Path

from tools.seed_data.common import CODES, dup_key, load_corpus

DECISIONS = Path(__file__).resolve().parents[2] / "classifier" / "data" / "decisions.tsv"
BATCH = Path("var/labelling/batch.tsv")

STRONG = (
    "保本 保息 年化 月息 日息 返租 包租 原始股 静态收益 动态收益 拆分盘 资金盘 互助盘 出局 矿机 稳赚 零风险 高收益 "
    "收益率 起投 分红 返利 众筹 入股 高回报 回报率 预期收益 日收益 月收益 理财 投资 收益 回购 虚拟币 币 区块链 养老 "
    "上市 利息 本金 复投 推荐奖 静态 动态 领导人 对接 零撸 挖矿 空投 私募 股权 收益高"
).split()
WARN = "警惕 骗局 诈骗 立案 警方 跑路 爆雷 暴雷 崩盘 维权 揭秘 提醒 记者 经侦 逮捕 判决 涉嫌 非法集资 谨防 受害 报案".split()
LOAN = "贷款 借款 放款 信用卡 额度 下款 借钱 网贷 无抵押 秒批 低息".split()
ADLAW = "升值 稳赚 赚到 一本万利 增值 投资首选 加盟 回报 保值 只涨不跌 财富 坐收 躺赚 翻倍".split()
BANK = "银行 我行 证券 保险 基金 信托".split()


def score(text: str) -> int:
    return sum(text.count(k) for k in STRONG)


def has(text: str, words: list[str]) -> bool:
    return any(w in text for w in words)


def propose(row: dict) -> str:
    t, c, sl = row["text"], row["corpus"], row.get("source_label", "")
    if c in ("thucnews", "tnews"):
        return "W" if score(t) else "N"
    if c == "bdci_negative":
        return "W"
    if c == "sms" and sl == "ham":
        return "N"
    if has(t, WARN):
        return "W"
    if c == "iflytek":
        if sl == "借贷" or (has(t, LOAN) and not has(t, ["年化", "出借"])):
            return "D"
        if has(t, BANK):
            return "L"
        return "F" if has(t, ["年化", "收益", "返利", "分红"]) else "O"
    if has(t, ["银行", "我行"]):
        return "L"
    if has(t, LOAN) and not has(t, ["年化", "收益"]):
        return "D"
    return "F" if score(t) >= 2 else "O"


POOLS = {
    "fund_sms": lambda r: (
        r["corpus"] == "sms"
        and r["source_label"] == "spam"
        and score(r["text"]) >= 1
        and not has(r["text"], LOAN)
    ),
    "fund_ifly": lambda r: (
        r["corpus"] == "iflytek"
        and r["source_label"] in ("理财", "借贷", "股票", "银行", "")
        and score(r["text"]) >= 2
    ),
    "fund_bdcie": lambda r: (
        r["corpus"] == "bdci_entity" and score(r["text"]) >= 3 and not has(r["text"], WARN)
    ),
    "bdcie_warn": lambda r: r["corpus"] == "bdci_entity" and score(r["text"]) >= 2 and has(r["text"], WARN),
    "bdcie_rest": lambda r: r["corpus"] == "bdci_entity",
    "fund_bdcin": lambda r: r["corpus"] == "bdci_negative" and score(r["text"]) >= 3,
    "bdcin_rest": lambda r: r["corpus"] == "bdci_negative",
    "news_kw": lambda r: r["corpus"] in ("thucnews", "tnews") and score(r["text"]) >= 1,
    "news_rest": lambda r: r["corpus"] in ("thucnews", "tnews"),
    "sms_loan": lambda r: r["corpus"] == "sms" and r["source_label"] == "spam" and has(r["text"], LOAN),
    "sms_bank": lambda r: r["corpus"] == "sms" and r["source_label"] == "spam" and has(r["text"], BANK),
    "sms_spam": lambda r: r["corpus"] == "sms" and r["source_label"] == "spam",
    "ham_kw": lambda r: r["corpus"] == "sms" and score(r["text"]) >= 2,
    "ham": lambda r: r["corpus"] == "sms",
    "ifly_rest": lambda r: r["corpus"] == "iflytek",
    "adlaw_sms": lambda r: r["corpus"] == "sms" and r["source_label"] == "spam" and has(r["text"], ADLAW),
    "ifly_p2p": lambda r: (
        r["corpus"] == "iflytek" and has(r["text"], ["年化", "出借", "投资", "收益", "加息", "标"])
    ),
}


def decided(decisions: Path = DECISIONS) -> dict[str, str]:
    out: dict[str, str] = {}
    if decisions.exists():
        for line in decisions.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                rid, code = line.split("\t")[:2]
                out[rid] = code
    return out


def pool_rows(pool: str) -> list[dict]:
    pred = POOLS[pool]
    rows = [r for r in load_corpus() if pred(r)]
    if pool.startswith(("fund", "bdcie_warn")):
        rows.sort(key=lambda r: -score(r["text"]))
    else:
        random.Random(pool).shuffle(rows)
    return rows


def show(
    pool: str, n: int = 60, width: int = 230, batch: Path = BATCH, decisions: Path = DECISIONS
) -> None:
    done = decided(decisions)
    done_keys = {dup_key(r["text"]) for r in load_corpus() if r["id"] in done}
    out, seen = [], set(done_keys)
    for r in pool_rows(pool):
        k = dup_key(r["text"])
        if r["id"] in done or k in seen:
            continue
        seen.add(k)
        out.append(r)
        if len(out) >= n:
            break
    batch.parent.mkdir(parents=True, exist_ok=True)
    batch.write_text("".join(f"{r['id']}\t{propose(r)}\n" for r in out), encoding="utf-8")
    for i, r in enumerate(out):
        text = re.sub(r"\s+", " ", r["text"])[:width]
        print(f"{i}|{propose(r)}|{r['id']}|{r.get('source_label', '')[:12]}| {text}")


def decide(overrides: str, batch: Path = BATCH, decisions: Path = DECISIONS) -> None:
    lines = [ln.split("\t") for ln in batch.read_text(encoding="utf-8").splitlines()]
    ov = dict(tok.split("=") for tok in overrides.split())
    with decisions.open("a", encoding="utf-8") as fh:
        for i, (rid, prop) in enumerate(lines):
            code = ov.get(str(i), prop)
            if code not in CODES and code != "S":
                raise SystemExit(f"bad code {code} at {i}")
            fh.write(f"{rid}\t{code}\n")
    batch.write_text("", encoding="utf-8")
    stats(decisions)


def stats(decisions: Path = DECISIONS) -> None:
    c = Counter(decided(decisions).values())
    print(" ".join(f"{k}={c[k]}" for k in "FALDWONS"), "total", sum(c.values()))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=Path, default=BATCH, help="the batch file show writes and decide reads")
    ap.add_argument("--decisions", type=Path, default=DECISIONS, help="decisions file (read, appended to)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_show = sub.add_parser("show")
    p_show.add_argument("pool", choices=sorted(POOLS))
    p_show.add_argument("n", type=int, nargs="?", default=60)
    sub.add_parser("decide").add_argument("overrides", nargs="?", default="")
    sub.add_parser("stats")
    sub.add_parser("sizes")
    args = ap.parse_args(argv)
    if args.cmd == "show":
        show(args.pool, args.n, batch=args.batch, decisions=args.decisions)
    elif args.cmd == "decide":
        decide(args.overrides, batch=args.batch, decisions=args.decisions)
    elif args.cmd == "stats":
        stats(args.decisions)
    else:
        for p in POOLS:
            print(p, len(pool_rows(p)))


if __name__ == "__main__":
    main()
