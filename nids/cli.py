"""`nids SUBCOMMAND ...`: each subcommand is a module with `add_parser(subparsers)` and `run(args) -> int`."""

import argparse
import sys

from nids.commands import flows
from nids.errors import CommandError

# Every subcommand, listed once: a new one is a module in nids/commands/ added here.
SUBCOMMANDS = (flows,)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nids", description="Network intrusion detection from packet captures and flows.")
    subparsers = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except CommandError as exc:
        print(f"nids {args.command}: error: {exc}", file=sys.stderr)
        return 2
