"""Command-line interface: one module per subcommand (``cmd_*.py``), discovered by main."""
