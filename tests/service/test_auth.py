"""Registration, login and bearer tokens, including forged and stale tokens."""

import base64
import json
import time

import pytest
from jose import jwt


def test_register_returns_the_public_user_only(client, new_username, password):
    username = new_username()
    response = client.post("/auth/register", json={"username": username, "password": password})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "username"} and body["username"] == username
    assert password not in response.text and "argon2" not in response.text


def test_register_taken_username_is_409_also_for_a_look_alike(client, user):
    for spelling in (user["username"], user["username"].upper(), user["username"].replace("u", "\uff55")):  # full-width u
        response = client.post("/auth/register", json={"username": spelling, "password": "another password"})
        assert response.status_code == 409, spelling
    # the original password still works: registration cannot overwrite an account
    assert client.post("/auth/token", data={"username": user["username"], "password": user["password"]}).status_code == 200


GOOD_PASSWORD = "a fine password"


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("valid-name", "Pw3!xyz", "password"),
        ("valid-name", "x" * 129, "password"),
        ("ab", GOOD_PASSWORD, "username"),
        ("has space", GOOD_PASSWORD, "username"),
        ("x" * 33, GOOD_PASSWORD, "username"),
        ("-starts-with-dash", GOOD_PASSWORD, "username"),
    ],
)
def test_register_outside_the_policy_is_422_naming_the_field(client, username, password, field):
    response = client.post("/auth/register", json={"username": username, "password": password})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", field]]
    assert password not in response.text  # submitted values are not echoed


def test_register_rejects_unknown_fields(client, new_username):
    response = client.post("/auth/register", json={"username": new_username(), "password": GOOD_PASSWORD, "is_admin": True})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "is_admin"]


def test_token_and_me(client, user, signing_key):
    response = client.post("/auth/token", data={"username": user["username"].upper(), "password": user["password"]})
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 60 * 60
    claims = jwt.decode(token["access_token"], signing_key, algorithms=["HS256"], audience="nids-api", issuer="nids")
    assert claims["sub"] == str(user["id"]) and claims["exp"] - claims["iat"] == 3600
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.json() == {"id": user["id"], "username": user["username"]}


def test_bad_credentials_get_one_answer_whether_or_not_the_user_exists(client, user):
    wrong_password = client.post("/auth/token", data={"username": user["username"], "password": "wrong password"})
    unknown_user = client.post("/auth/token", data={"username": "nobody-" + user["username"], "password": "wrong password"})
    impossible_user = client.post("/auth/token", data={"username": "nul\x00" + "x" * 100, "password": "wrong password"})
    for response in (wrong_password, unknown_user, impossible_user):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert wrong_password.json() == unknown_user.json() == impossible_user.json()


def _claims(user, **changes) -> dict:
    now = int(time.time())
    return {"sub": str(user["id"]), "iat": now, "exp": now + 600, "iss": "nids", "aud": "nids-api"} | changes


def _unsigned(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _tampered(user, key) -> str:
    header, _payload, signature = jwt.encode(_claims(user), key, algorithm="HS256").split(".")
    forged = base64.urlsafe_b64encode(json.dumps(_claims(user, sub="1")).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


FORGED_TOKENS = {
    "expired": lambda u, key: jwt.encode(_claims(u, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), key),
    "tampered payload": _tampered,
    "other secret": lambda u, key: jwt.encode(_claims(u), "another-secret-" + "y" * 32),
    "wrong audience": lambda u, key: jwt.encode(_claims(u, aud="someone-else"), key),
    "wrong issuer": lambda u, key: jwt.encode(_claims(u, iss="evil"), key),
    "no audience": lambda u, key: jwt.encode({k: v for k, v in _claims(u).items() if k != "aud"}, key),
    "no expiry": lambda u, key: jwt.encode({k: v for k, v in _claims(u).items() if k != "exp"}, key),
    "alg none": lambda u, key: _unsigned(_claims(u)),
    "HS512": lambda u, key: jwt.encode(_claims(u), key, algorithm="HS512"),
    "unknown user": lambda u, key: jwt.encode(_claims(u, sub="999999999"), key),
    "garbage": lambda u, key: "not-a-jwt",
}


@pytest.mark.parametrize("kind", FORGED_TOKENS)
def test_forged_or_stale_tokens_are_401(client, user, signing_key, kind):
    token = FORGED_TOKENS[kind](user, signing_key)
    response = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_valid_token_built_the_same_way_is_accepted(client, user, signing_key):
    """The forged-token cases differ from this one in exactly the forged part."""
    token = jwt.encode(_claims(user), signing_key)
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/auth/me"), ("get", "/models"), ("get", "/models/any"), ("post", "/predict"), ("post", "/predict/batch")],
)
@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer"])
def test_protected_endpoints_need_a_bearer_token(client, method, path, header):
    headers = {"Authorization": header} if header else {}
    response = client.request(method.upper(), path, headers=headers, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
