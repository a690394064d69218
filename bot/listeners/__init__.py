"""Bolt listeners, one module per Slack surface; `bot/app.py` wires them onto the app."""
