"""One module per CLI command, each with `configure(parser)` and `execute(args) -> int`."""
