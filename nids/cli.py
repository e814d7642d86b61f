"""`nids SUBCOMMAND ...`: each subcommand is a module with `add_parser(subparsers)` and `run(args) -> int`."""

import argparse
import sys

from nids import score

SUBCOMMANDS = (score,)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nids", description="Network intrusion detection from the command line.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    commands = {}
    for module in SUBCOMMANDS:
        before = set(subparsers.choices)
        module.add_parser(subparsers)
        commands |= dict.fromkeys(set(subparsers.choices) - before, module)
    args = parser.parse_args(argv)
    return commands[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
