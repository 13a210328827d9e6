"""The ``kcrypt`` command (click): every subcommand, one ``Error:`` line on failure.

The entry point is :func:`kcrypt.cli.main.main`; importing this package stays
cheap (subcommands import what they need when they run).
"""

__all__: list[str] = []
