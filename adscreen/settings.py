"""Runtime configuration, read from ``ADSCREEN_*`` environment variables (and a ``.env`` file).

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
    secret_key: str = "change-me-in-production"
    # Reverse proxies in front of the review app (comma-separated addresses or networks, e.g. "10.0.0.0/8"). Their
    # X-Forwarded-For is believed, so the login limits count the real client address, not the proxy's; with none
    # set, every request comes from its TCP peer and the header is ignored (it can be forged).
    trusted_proxies: str = ""
    # Mark the review app's session cookie Secure (sent over HTTPS only): set it when inspectors reach the app over
    # HTTPS, as they should outside the demo; off by default so the plain-HTTP demo on loopback can log in.
    cookie_secure: bool = False

    @property
    def embedded(self) -> bool:
        """True in the one-command demo mode: tasks run in-process instead of on Celery workers."""
        return not self.broker_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
