"""Widgets of the console: badges, the domain table, the detail panel and the demo outbox."""
