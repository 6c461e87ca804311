"""The review app's operations, each written once; ``review.pages`` (HTML) and ``review.api`` (JSON) call them.

| module | operations |
|---|---|
| ``auth`` | the login sequence (limiter + authentication on one normalised name), session contents, logout |
| ``cases`` | what a case shows (text fields, highlights, hits, snapshot), the claim rule, claim / release / decide |
| ``lexicon`` | categories, proposals, approve → commit → rescore → commit, lexicon overview, mined suggestions |
| ``referral`` | referral rows, evidence sheet, CSV / XLSX / JSON, the package and its export |
| ``audit`` | reading the audit log |
| ``filters`` | parsing queue filters, ids and page numbers from what users typed |
| ``dashboard`` | the dashboard's figures |

Services commit the transactions they complete; the request's session rolls back anything left over.
"""
