"""Company, brand and app names, read with suffix rules (fast enough for every document; no segmenter needed).

- ``company``: a name ending in a legal form or a regulated business word: …有限公司 / 股份有限公司 / 有限责任公司,
  …合作社, …集团, …投资管理, …资产管理, …财富管理, …金融信息服务. The canonical form drops the region in brackets
  and the legal form: 鑫瑞财富管理（商丘）有限公司 and 鑫瑞財富管理有限公司 are one company, 鑫瑞财富管理.
- ``brand``: what is left of a company name without regions and business words (鑫瑞, 聚鑫源), also from short
  forms such as 聚鑫源投资 or 鑫瑞财富; a weak identifier that links only together with other evidence.
- ``app``: 《…》APP, …App, 下载… APP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from operators.text import canonical_name, t2s_chars

_NAME_CHARS = r"[\u4e00-\u9fffA-Za-z0-9（）()·]"
LEGAL = r"(?:股份有限公司|有限责任公司|有限公司|专业合作社|合作社|集团)"  # a bare 公司 is too loose (客户资源公司提供)
BUSINESS = r"(?:投资管理|资产管理|财富管理|金融信息服务|金融服务|投资咨询|投资|财富|资产|金服|金融|理财|控股|科技|商贸|实业|发展)"
# found by their suffix first (rare), then read backwards over name characters: a forward lazy scan is slow
_SUFFIX = re.compile(LEGAL + r"|(?:投资管理|资产管理|财富管理|金融信息服务)(?:中心|部)?")
_NAME_RUN = re.compile(_NAME_CHARS + r"{2,24}$")
# a business-word name continued by its region and legal form: 鑫瑞财富管理 + （商丘）有限公司
_EXTEND = re.compile(r"(?:（[^（）]{1,8}）|\([^()]{1,8}\))?" + LEGAL)
_BRANDISH = re.compile(r"(?P<name>[\u4e00-\u9fff]{2,6}(?:投资|财富|金服|理财))(?![\u4e00-\u9fff])")
# a region and its closing bracket left over in front of a name: 北京）资易贷…
_LEFTOVER = re.compile(r"^[^（）()]{1,6}[）)]")
GENERIC_BRANDS = frozenset(
    "数字 数字化 虚拟 固定 不良 个人 家庭 金融 互联网 网络 专业 优质 正规 高端 投资 财富 理财 资产 国有 私人 "
    "农村商业银行 商业银行 银行 保险 证券 基金 信托 小额贷款 融资担保 担保 平台 公司 企业 集团 养老 招聘 转让 "
    "村里 本村 当地 内部 农村 农民 乡村 社区 村 合作 股份 个人 老年 健康".split()
)
_APP = re.compile(
    r"《(?P<a>[^《》\n]{2,16})》\s?(?:APP|App|app|客户端|软件|小程序)"
    r"|(?:下载|安装|注册|登录|打开|搜索)《(?P<b>[^《》\n]{2,16})》"
    r"|(?P<c>[\u4e00-\u9fffA-Za-z0-9]{2,10})\s?(?:APP|App|app)(?![A-Za-z])"
)
# words a name never starts with: a left boundary inside a run of Chinese
_LEAD = re.compile(
    r"^.*(?:欢迎加入|欢迎|加入|认准|推出|选择|联系|来自|隶属|旗下|签约|委托|通过|成立|注册|下载|安装|打开|登录|"
    r"扫码|搜索|关注|点击|进入|使用|招聘|转让|介绍|负责|出售|收购|参与|入股|有|公司|是|为|即|由|在|与|及|向|经|的|了|本|我|该|系|请|到|找|把|将|给)"
)
_BAD_START = ("某", "本", "该", "我", "贵", "此", "各", "其")
REGIONS = (
    "中国 北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 "
    "贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 郑州 开封 洛阳 商丘 梁园 睢阳 永城 夏邑 虞城 "
    "民权 宁陵 柘城 睢县 深圳 广州 杭州 南京 武汉 成都 西安 国际 全国 华夏 中华"
).split()
_REGION = re.compile("|".join(sorted(REGIONS, key=len, reverse=True)) + r"|[\u4e00-\u9fff]{1,3}[省市县区](?=[\u4e00-\u9fff]{2})")
_LEAD_REGION = re.compile("(?:" + "|".join(sorted(REGIONS, key=len, reverse=True)) + ")+")
_LEGAL_TAIL = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|分公司|集团|公司)$")
_BUSINESS_WORDS = re.compile(BUSINESS + r"|专业合作社|合作社|种植|养殖|农业|农民|专业|林业|生态|果蔬|中心|部|服务|管理|咨询|信息|网络|电子商务|供应链|文化|传媒|健康产业|产业")
_APP_GENERIC = frozenset(
    "下载 扫码下载 手机 手机银行 官方 本 该 此 微信 支付宝 抖音 快手 淘宝 京东 美团 拼多多 qq 百度 高德 平台 我们的 "
    "注册 安装 登录 一个 钱包 理财 金融 投资 手机必备 手机必备下载 官方下载 客户端 软件 应用 游戏".split()
)


def _trim(name: str) -> str:
    m = _LEAD.match(name)
    return name[m.end() :] if m else name


def _company_canonical(name: str) -> str:
    """NFKC, 繁→简, no brackets (the branch's region), no legal form, no leading region when enough is left."""
    name = re.sub(r"[（(][^）)]*[）)]", "", name)
    core = _LEGAL_TAIL.sub("", canonical_name(name))
    lead = _LEAD_REGION.match(core)
    if lead and len(core) - lead.end() >= 4:
        core = core[lead.end() :]
    return core


def brand_of(name: str) -> str | None:
    """The distinctive part of a company name: regions, brackets, legal forms and business words removed."""
    core = _company_canonical(name)
    core = _REGION.sub("", core)
    core = _BUSINESS_WORDS.sub("", core)
    return core if 2 <= len(core) <= 8 and core not in GENERIC_BRANDS else None


def find_companies(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, value, start, end) for companies and brands in ``text``; read in simplified characters (1:1)."""
    text = text.translate(t2s_chars())
    seen: set[tuple[int, int]] = set()
    last_end = 0
    for m in _SUFFIX.finditer(text):
        if m.start() < last_end:
            continue
        run = _NAME_RUN.search(text, max(last_end, m.start() - 24), m.start())
        if run is None:
            continue
        prefix = _trim(run.group())
        name, end = prefix + m.group(), m.end()
        more = _EXTEND.match(text, end)
        if more:
            name, end = name + more.group(), more.end()
        start = end - len(name)
        leftover = _LEFTOVER.match(name)
        if leftover:
            name, start = name[leftover.end() :], start + leftover.end()
        while name and name[0] in "（()）·":
            name, start = name[1:], start + 1
        if len(name) < 4 or name.startswith(_BAD_START):
            continue
        value = _company_canonical(name)
        if len(value) < 4 or _BUSINESS_WORDS.fullmatch(_REGION.sub("", value)) or brand_of(name) is None:
            continue  # nothing distinctive left (村里合作社, 商丘投资管理有限公司): not a name
        seen.add((start, end))
        last_end = end
        yield "company", value, start, end
        brand = brand_of(name)
        if brand:
            yield "brand", brand, start, end
    if "投资" not in text and "财富" not in text and "金服" not in text and "理财" not in text:
        return
    for m in _BRANDISH.finditer(text):
        name = _trim(m.group("name"))
        start = m.end() - len(name)
        if any(s <= start < e for s, e in seen) or len(name) < 4 or name.startswith(_BAD_START):
            continue
        brand = brand_of(name)
        if brand:
            yield "brand", brand, start, m.end()


def find_apps(text: str) -> Iterator[tuple[str, str, int, int]]:
    if "》" not in text and "pp" not in text and "PP" not in text:
        return
    for m in _APP.finditer(text):
        group = next(g for g in ("a", "b", "c") if m.group(g))
        name = m.group(group)
        start = m.start(group)
        if group == "c":
            trimmed = _trim(name)
            start += len(name) - len(trimmed)
            name = trimmed
        value = canonical_name(name)
        value = re.sub(r"(app|客户端|软件|小程序)$", "", value)
        if len(value) < 2 or value in _APP_GENERIC:
            continue
        yield "app", value, start, start + len(name)
