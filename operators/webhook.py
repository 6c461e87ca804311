"""The outgoing early-warning webhook, for the bureau's own systems: an HMAC-SHA256 signed JSON body, retried.

The receiver recomputes ``hex(HMAC-SHA256(secret, timestamp + "." + body))`` and compares it with the
``X-Adscreen-Signature: sha256=…`` header; the timestamp (``X-Adscreen-Timestamp``, Unix seconds) is signed too, so
a captured request cannot be replayed later with a fresh timestamp. A plain function: no queue, no database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class Delivery:
    ok: bool
    attempts: int
    status: int | None = None
    error: str | None = None

    @property
    def retryable(self) -> bool:
        """A failure worth trying again later: the network, a timeout or a 408/429/5xx, not a refusal."""
        return not self.ok and (self.status is None or self.status in RETRY_STATUSES)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (and the tests): constant-time comparison of the signature header."""
    return hmac.compare_digest(header, "sha256=" + sign(secret, timestamp, body))


def send(
    url: str,
    secret: str,
    payload: dict[str, Any],
    *,
    attempts: int = 4,
    backoff_s: float = 1.0,
    timeout_s: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> Delivery:
    """POST the payload; retry network errors and 408/429/5xx with exponential backoff (1 s, 2 s, 4 s …).

    Any other status (a 4xx: the receiver refuses it) is final: retrying would not change the answer.
    """
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    status: int | None = None
    error: str | None = None
    for attempt in range(1, attempts + 1):
        timestamp = str(int(clock()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "adscreen-warnings/1",
            "X-Adscreen-Timestamp": timestamp,
            "X-Adscreen-Signature": "sha256=" + sign(secret, timestamp, body),
        }
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=timeout_s)
            status, error = response.status_code, None
            if 200 <= status < 300:
                return Delivery(True, attempt, status)
            if status not in RETRY_STATUSES:
                return Delivery(False, attempt, status, f"refused with HTTP {status}")
            error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        if attempt < attempts:
            sleep(backoff_s * 2 ** (attempt - 1))
    return Delivery(False, attempts, status, error)
