"""LiveMatcher: a Matcher that follows the store's version, so running workers pick up inspectors' edits.

The version check is one small file read, done at most every ``check_interval`` seconds; the rebuild (≈0.1–0.5 s
with jieba already loaded) happens in the calling thread under a lock, and a failed rebuild keeps the old matcher.
"""

from __future__ import annotations

import logging
import threading
import time

from .matcher import Matcher, MatchResult
from .store import LexiconStore

log = logging.getLogger(__name__)


class LiveMatcher:
    def __init__(self, store: LexiconStore, check_interval: float = 1.0, **matcher_kwargs) -> None:
        self.store = store
        self.check_interval = check_interval
        self._kwargs = matcher_kwargs
        self._lock = threading.Lock()
        self._matcher = Matcher(store.load(), **matcher_kwargs)
        self._checked = time.monotonic()

    @property
    def version(self) -> str:
        return self._matcher.version

    @property
    def matcher(self) -> Matcher:
        return self._matcher

    def refresh(self, force: bool = False) -> bool:
        """Rebuild if the store's version differs from ours; returns True when a new lexicon was loaded."""
        now = time.monotonic()
        if not force and now - self._checked < self.check_interval:
            return False
        self._checked = now
        current = self.store.current_version()
        if not current or current == self._matcher.version:
            return False
        with self._lock:
            if self.store.current_version() == self._matcher.version:
                return False
            try:
                self._matcher = Matcher(self.store.load(), **self._kwargs)
            except Exception:  # keep serving with the old lexicon; a broken edit must not stop the workers
                log.exception("lexicon %s failed to build; keeping %s", current, self._matcher.version)
                return False
        log.info("lexicon reloaded: %s", self._matcher.version)
        return True

    def match(self, text) -> MatchResult:
        self.refresh()
        return self._matcher.match(text)
