"""The domain registry: ownership by emailed code, DKIM keys, record verification, re-checks,
sender rules and the reliability report. Headless; the console and the CLI both call it."""
