"""The combined verdict: one place where keyword and classifier evidence become a score, a level and a flag."""

from scoring.verdict import Thresholds, Verdict, combine

__all__ = ["Thresholds", "Verdict", "combine"]
