"""The inspectors' review app: queue, case view, decisions, referral export, lexicon feeding, dashboard."""
