"""I/O services behind small Protocols: DNS, SQLite store, mail, keys, settings, loopback DNS server."""
