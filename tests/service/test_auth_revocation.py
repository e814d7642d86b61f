"""Ending sessions: logout revokes every token of the caller, the admin command revokes a user's tokens
or disables the account, and each worker's account cache keeps the per-request check to one database
read per user per `NIDS_ACCOUNT_CACHE_SECONDS` without letting a refused token through for longer."""

import time

import pytest
from jose import jwt

from service import admin
from service.accounts import AccountCache


def _login(client, user) -> str:
    response = client.post("/auth/token", data={"username": user["username"], "password": user["password"]})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _me(client, token: str) -> int:
    return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _logout(client, token: str):
    return client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})


def test_logout_refuses_the_token_at_once_and_a_new_login_works(client, user):
    token = _login(client, user)
    assert _me(client, token) == 200  # now cached by this worker
    response = _logout(client, token)
    assert response.status_code == 204 and response.content == b""
    assert _me(client, token) == 401
    assert _logout(client, token).status_code == 401  # nor can it log out again
    fresh = _login(client, user)
    assert _me(client, fresh) == 200
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {fresh}"}).json()["username"] == user["username"]


def test_logout_ends_every_token_of_the_caller_and_no_one_elses(client, user, new_username, password):
    first, second = _login(client, user), _login(client, user)
    other = new_username()
    assert client.post("/auth/register", json={"username": other, "password": password}).status_code == 201
    others_token = _login(client, {"username": other, "password": password})
    assert _logout(client, first).status_code == 204
    assert (_me(client, first), _me(client, second), _me(client, others_token)) == (401, 401, 200)


def test_logout_needs_a_valid_token(client):
    response = client.post("/auth/logout")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert _logout(client, "not-a-jwt").status_code == 401


def test_tokens_carry_the_generation_they_were_issued_in(client, user, signing_key):
    token = _login(client, user)
    assert jwt.decode(token, signing_key, algorithms=["HS256"], audience="nids-api")["gen"] == 0
    _logout(client, token)
    assert jwt.decode(_login(client, user), signing_key, algorithms=["HS256"], audience="nids-api")["gen"] == 1


def _token(user, key: str, **claims) -> str:
    now = int(time.time())
    base = {"sub": str(user["id"]), "iat": now, "exp": now + 600, "iss": "nids", "aud": "nids-api"}
    return jwt.encode(base | claims, key, algorithm="HS256")


def test_a_token_from_before_generations_counts_as_generation_0(client, user, signing_key):
    """Tokens issued before the upgrade have no `gen`: valid until the user's first logout, like any other."""
    legacy = _token(user, signing_key)
    assert _me(client, legacy) == 200
    _logout(client, _login(client, user))
    assert _me(client, legacy) == 401


@pytest.mark.parametrize("generation", ["0", 0.0, True, -1, None, [0]])
def test_a_generation_that_is_not_a_whole_number_is_refused(client, user, signing_key, generation):
    assert _me(client, _token(user, signing_key, gen=generation)) == 401


def test_a_future_generation_signed_by_us_is_still_refused(client, user, signing_key):
    assert _me(client, _token(user, signing_key, gen=5)) == 401


@pytest.mark.parametrize(
    ("ttl", "requests", "expected_reads"),
    [(60, 20, 1), (0, 5, 5)],
    ids=["read-once-per-cache-period", "no-cache-reads-every-request"],
)
def test_the_account_is_read_once_per_cache_period_or_every_request_without_a_cache(
    client, app, auth, replace_state, monkeypatch, ttl, requests, expected_reads
):
    replace_state(accounts=AccountCache(app.state.engine, ttl=ttl))
    reads = []
    real = AccountCache.load
    monkeypatch.setattr(AccountCache, "load", lambda self, user_id: reads.append(user_id) or real(self, user_id))
    assert all(client.get("/auth/me", headers=auth).status_code == 200 for _ in range(requests))
    assert len(reads) == expected_reads


@pytest.fixture
def run_admin(make_settings):
    """The admin command's work, against the test database."""
    return lambda command, username: admin.run(command, username, make_settings())


def _wait_for(client, token: str, status: int, within: float) -> float:
    """Seconds until /auth/me answers `status` for `token`; fails after `within`."""
    started = time.monotonic()
    while (code := _me(client, token)) != status:
        assert time.monotonic() - started < within, f"still {code} after {within} s"
        time.sleep(0.05)
    return time.monotonic() - started


def test_revoked_by_the_admin_command_is_refused_within_the_cache_period(client, app, user, run_admin, replace_state):
    replace_state(accounts=AccountCache(app.state.engine, ttl=1.0))
    token = _login(client, user)
    assert _me(client, token) == 200
    message = run_admin("revoke", user["username"].upper())  # usernames are matched as at login
    assert message.startswith(f"revoked every token of {user['username'].upper()}")
    _wait_for(client, token, 401, within=1.0 + 0.5)
    assert _me(client, _login(client, user)) == 200  # a new login is a new generation


def test_a_token_newer_than_the_workers_cache_is_checked_afresh(client, app, user, run_admin, replace_state):
    """Revoked elsewhere, then logged in again: this worker still remembers the old generation, and must
    not refuse the new token for it."""
    replace_state(accounts=AccountCache(app.state.engine, ttl=60))
    assert _me(client, _login(client, user)) == 200
    run_admin("revoke", user["username"])
    assert _me(client, _login(client, user)) == 200


def test_a_disabled_account_can_neither_log_in_nor_use_its_tokens(client, app, user, run_admin, replace_state):
    replace_state(accounts=AccountCache(app.state.engine, ttl=1.0))
    token = _login(client, user)
    assert run_admin("disable", user["username"]).startswith(f"disabled {user['username']}")
    _wait_for(client, token, 401, within=1.0 + 0.5)
    refused = client.post("/auth/token", data={"username": user["username"], "password": user["password"]})
    wrong = client.post("/auth/token", data={"username": user["username"], "password": "wrong password"})
    assert refused.status_code == wrong.status_code == 401 and refused.json() == wrong.json()  # no password oracle

    assert run_admin("enable", user["username"]).startswith(f"enabled {user['username']}")
    assert _me(client, _login(client, user)) == 200
    assert _me(client, token) == 401  # enabling does not bring back the tokens held when it was disabled


def test_the_admin_command_names_an_unknown_user(run_admin):
    with pytest.raises(LookupError, match="no user named 'nobody-at-all'"):
        run_admin("revoke", "nobody-at-all")


def test_a_token_remembered_by_the_worker_is_refused_once_it_expires(client, user, signing_key, clock):
    """Accepted tokens are remembered to spare the signature check; their expiry is still checked on every use."""
    token = _token(user, signing_key, exp=int(time.time()) + 60)
    assert _me(client, token) == 200 and _me(client, token) == 200
    clock.shift(60 + 30 + 2)  # past `exp` and the 30 s of clock skew allowed
    assert _me(client, token) == 401
