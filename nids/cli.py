"""`nids SUBCOMMAND ...`: the command line, one module per subcommand in nids/commands/.

A subcommand module has `add_parser(subparsers)`, which adds its parser with `subparsers.add_parser(NAME, ...)`,
and `run(args) -> int`, which does the work and returns the exit code.
"""

import argparse
import sys

from nids.commands import score

# Every subcommand, listed once: a new one is a module in nids/commands/ added here.
SUBCOMMANDS = (score,)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nids", description="Network intrusion detection from flow records.")
    subparsers = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        known = set(subparsers.choices)
        module.add_parser(subparsers)
        for name in subparsers.choices.keys() - known:  # the parser (and any alias) the module just added
            subparsers.choices[name].set_defaults(run=module.run)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
