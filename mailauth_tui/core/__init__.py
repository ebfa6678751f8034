"""Pure record logic: parsers, evaluators and diagnostics.

Nothing in this package performs I/O on its own or imports Textual. Evaluation that needs DNS
takes a :class:`~mailauth_tui.core.dns_types.Resolver` as an argument.
"""
