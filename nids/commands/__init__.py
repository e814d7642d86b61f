"""One module per `nids` subcommand, each with `add_parser(subparsers)` and `run(args) -> int`."""
