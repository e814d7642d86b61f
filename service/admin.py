"""`python -m service.admin`: end a user's sessions, or disable or enable an account, from the service's host.

Reads `NIDS_DATABASE_URL` like the service. Running workers refuse the user's tokens within
`NIDS_ACCOUNT_CACHE_SECONDS` (each keeps what it last read of an account that long).
"""

import argparse
import logging
import sys

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.accounts import revoke_tokens, set_active
from service.core.config import Settings
from service.core.db import create_db_engine, migrate
from service.models import User
from service.schemas.user import normalize_username

PROG = "python -m service.admin"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0].split(": ", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (
        ("revoke", "revoke every token the user holds (they can log in again)"),
        ("disable", "disable the account: no login, and every token it holds is refused"),
        ("enable", "enable a disabled account again (the tokens it held stay revoked)"),
    ):
        commands.add_parser(name, help=help_text, description=help_text).add_argument("username")
    return parser


def run(command: str, username: str, settings: Settings) -> str:
    """Carries out the command; returns what to tell the operator. Raises LookupError for an unknown user."""
    engine = create_db_engine(settings.database_url)
    try:
        migrate(engine)  # the columns this needs may be newer than the running service's schema
        with Session(engine) as session:
            user_id = session.scalar(select(User.id).where(User.username == normalize_username(username)))
            if user_id is None:
                raise LookupError(f"no user named {username!r}")
            if command == "revoke":
                revoke_tokens(session, user_id)
                done = "revoked every token of"
            else:
                set_active(session, user_id, command == "enable")
                done = f"{command}d"
    finally:
        engine.dispose()
    return f"{done} {username}; running workers follow within {settings.account_cache_seconds:g} s"


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.getLogger("service.core.config").setLevel(logging.ERROR)  # it signs nothing: a missing key is no concern here
    try:
        print(run(args.command, args.username, Settings()))
    except ValidationError as exc:
        sys.exit(f"{PROG}: invalid settings: {exc.errors()[0]['msg']}")
    except LookupError as exc:
        sys.exit(f"{PROG}: {exc.args[0]}")
    except SQLAlchemyError as exc:
        sys.exit(f"{PROG}: cannot use the database: {str(exc).splitlines()[0]}")


if __name__ == "__main__":
    main()
