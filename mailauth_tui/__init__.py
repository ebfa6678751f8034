"""mailauth-tui: prove ownership of sending domains and keep DKIM, SPF and DMARC verified."""

__version__ = "0.1.0"
