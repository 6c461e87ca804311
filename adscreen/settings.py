"""Runtime configuration, read from ``ADSCREEN_*`` environment variables (and a ``.env`` file).

This module is the only reader of the environment in the packages (a test checks it): every other layer takes
its values as arguments, so that a library (``keywords``, ``classifier``) or ``store`` can be used, and tested,
without this project's configuration. Each field is listed in the README's configuration table (tested too).

The defaults are the embedded demo mode: a SQLite file under ``./var/`` and no broker, so that tasks run
in-process. Production sets ``ADSCREEN_DATABASE_URL`` to PostgreSQL and ``ADSCREEN_BROKER_URL`` to Redis.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADSCREEN_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/adscreen.db"
    broker_url: str | None = None
    result_backend: str | None = None
    var_dir: Path = Path("var")
    model_dir: Path = Path("var/models")
    lexicon_dir: Path = Path("var/lexicon")
    flag_threshold: float = 0.5
    high_threshold: float = 0.8
    medium_threshold: float = 0.5
    score_batch_size: int = 32
    store_batch: int = 50  # documents the crawler saves per transaction at most (crawler/storage.py)
    claim_ttl_seconds: int = 30 * 60
    max_body_bytes: int = 5 * 1024 * 1024
    max_text_chars: int = 200_000
    user_agent: str = "adscreen/0.1 (+market-supervision screening; contact: admin@example.org)"
    scrapy_redis_url: str | None = None
    sweeper_interval_seconds: int = 300
    sweeper_min_age_seconds: int = 120
    broker_visibility_timeout: int = 3600
    # Failure-injection knob for tests (a slow batch can be killed mid-way); keep 0 in production.
    score_delay_ms: int = 0
    classifier_backend: str = "onnx"
    use_classifier: bool = True
    # Threads of one classifier session (ONNX Runtime intra-op, or torch); None: min(2, CPUs). Each worker process
    # has its own session, so processes x threads should not exceed the cores.
    clf_threads: int | None = None
    # Celery queue name of the scoring tasks; crawls go to "<queue>.crawl". Tests give each run its own name.
    queue: str = "adscreen"
    # Who the command line records in the audit log (e.g. as the editor of a source); empty: the login name.
    actor: str = ""
    secret_key: str = "change-me-in-production"
    # Reverse proxies in front of the review app (comma-separated addresses or networks, e.g. "10.0.0.0/8"). Their
    # X-Forwarded-For is believed, so the login limits count the real client address, not the proxy's; with none
    # set, every request comes from its TCP peer and the header is ignored (it can be forged).
    trusted_proxies: str = ""
    # Mark the review app's session cookie Secure (sent over HTTPS only): set it when inspectors reach the app over
    # HTTPS, as they should outside the demo; off by default so the plain-HTTP demo on loopback can log in.
    cookie_secure: bool = False
    operator_high_threshold: float = 70.0  # operator risk index (0–100) at or above which an operator is 高风险
    operator_watch_threshold: float = 40.0  # … and 重点关注 (below it: 正常监测)
    operator_spike_per_day: int = 5  # new ads of one operator within 24 hours that raise a spike warning
    warning_webhook_url: str | None = None  # early warnings are POSTed here (HMAC-SHA256 signed); none: not sent
    warning_webhook_secret: str = ""  # the HMAC key of the warning webhook
    # responsible units (属地管理) of the review app; none: the bundled Shangqiu units (store/data/units.yaml)
    units_file: Path | None = None
    referral_two_person: bool = False  # a referral needs a second inspector's confirmation
    qa_dismiss_share: float = 0.0  # share (0–1) of dismissals sampled for a second reader
    # Images in ads (issue 14): the crawler keeps at most this many per detail page, each at most this many bytes and
    # pixels (checked by magic bytes and from the header before decoding); the ``images`` queue reads them (OCR, QR).
    max_images_per_page: int = 8
    max_image_bytes: int = 5 * 1024 * 1024
    max_image_pixels: int = 25_000_000
    use_ocr: bool = True
    # Threads of each process's OCR engine; None: min(2, CPUs).
    ocr_threads: int | None = None

    @property
    def embedded(self) -> bool:
        """True in the one-command demo mode: tasks run in-process instead of on Celery workers."""
        return not self.broker_url

    @property
    def cli_actor(self) -> str:
        """The audit-log actor of the command line: ``ADSCREEN_ACTOR``, else the login name, else ``cli``."""
        if self.actor:
            return self.actor
        import getpass

        try:
            return getpass.getuser()
        except (KeyError, OSError):  # no login name (a container with an unnamed uid)
            return "cli"


@lru_cache
def get_settings() -> Settings:
    return Settings()
