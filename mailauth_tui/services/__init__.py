"""I/O services behind small Protocols: DNS, the SQLite store, mail, keys, settings, and the
loopback DNS server."""
