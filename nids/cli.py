"""`nids SUBCOMMAND ...`: the command line, one module per subcommand in nids/commands/.

A subcommand module has `add_parser(subparsers)`, which adds its parser with `subparsers.add_parser(NAME, ...)`,
and `run(args) -> int`, which does the work and returns the exit code. A failure the user can fix is raised as
`nids.errors.CommandError` and reported here as one line on stderr with exit code 2.
"""

import argparse
import sys

from nids.commands import flows, score
from nids.errors import CommandError

# Every subcommand, listed once: a new one is a module in nids/commands/ added here.
SUBCOMMANDS = (flows, score)
INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nids", description="Network intrusion detection from packet captures and flows.")
    subparsers = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        known = set(subparsers.choices)
        module.add_parser(subparsers)
        for name in subparsers.choices.keys() - known:  # the parser (and any alias) the module just added
            subparsers.choices[name].set_defaults(run=module.run)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except CommandError as exc:
        print(f"nids {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nids {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED
