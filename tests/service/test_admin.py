"""`python -m service.admin`: one line and a non-zero exit for every mistake, never a traceback."""

import os
import subprocess
import sys

import pytest


def _admin(*args: str, **environment: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "")} | environment
    command = [sys.executable, "-m", "service.admin", *args]
    return subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def database(database_url, signing_key, client) -> dict[str, str]:  # `client`: the schema is there
    return {"NIDS_DATABASE_URL": database_url, "NIDS_JWT_SECRET": signing_key}


def test_each_command_reports_what_it_did(database, user):
    for command, said in (("revoke", "revoked every token of"), ("disable", "disabled"), ("enable", "enabled")):
        result = _admin(command, user["username"], **database)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"{said} {user['username']}; running workers follow within 5 s\n" and result.stderr == ""


@pytest.mark.parametrize("command", ["revoke", "disable", "enable"])
def test_an_unknown_user_is_one_line_and_exit_1(database, command):
    result = _admin(command, "ghost-user", **database)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "python -m service.admin: no user named 'ghost-user'\n"


@pytest.mark.parametrize("args", [(), ("revoke",), ("delete", "someone"), ("revoke", "a", "b")])
def test_a_wrong_command_line_is_usage_and_exit_2(database, args):
    result = _admin(*args, **database)
    assert result.returncode == 2 and "usage: python -m service.admin" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_line():
    result = _admin("revoke", "someone", NIDS_DATABASE_URL="postgresql+psycopg://admin:hunter2-secret@127.0.0.1:1/nids")
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("python -m service.admin: cannot use the database: ")
    assert "hunter2-secret" not in result.stderr and "Traceback" not in result.stderr


def test_invalid_settings_are_one_line():
    result = _admin("revoke", "someone", NIDS_ENV="production")
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("python -m service.admin: invalid settings: ")
