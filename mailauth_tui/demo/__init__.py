"""Demo mode (``mailauth-tui --demo``): a loopback DNS server with a sample zone, a temporary
registry and Maildir, sample domains in every state, and the hooks the console uses to
"publish" records and read the outbox. Nothing leaves the machine."""
