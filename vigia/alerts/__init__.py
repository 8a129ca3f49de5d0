"""Alerts: watchlists (YAML), spike / new / digest detection on story counts, outlet silence,
state in an index of its own, and e-mail over SMTP. Commands live in ``vigia.cli.alerts``."""
