"""Bundled demo site: a local classified-ad site (GBK HTML) plus a paged JSON platform API, served on loopback so
``adscreen demo`` can crawl something realistic without touching the internet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
DEFAULT_BASE_URL = "http://127.0.0.1:8765"


def profile_paths() -> list[Path]:
    return sorted(PROFILE_DIR.glob("*.yaml"))


def crawl_profiles(base_url: str = DEFAULT_BASE_URL) -> list[dict[str, Any]]:
    """The demo crawl profiles with ``http://127.0.0.1:8765`` replaced by ``base_url`` (the server's real address)."""
    base = base_url.rstrip("/")
    out = []
    for path in profile_paths():
        text = path.read_text(encoding="utf-8").replace(DEFAULT_BASE_URL, base)
        out.append(yaml.safe_load(text))
    return out


# ``profiles`` is also the name of the data folder beside this file: an import of ``demo_site.profiles`` (a namespace
# package) replaces this attribute, so callers use ``crawl_profiles``; the alias stays for the interactive user.
profiles = crawl_profiles
