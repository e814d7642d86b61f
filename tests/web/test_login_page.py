"""Sign up, log in, the first prediction, and what logging out leaves reachable."""

from playwright.sync_api import expect


def test_sign_up_log_in_fill_an_example_and_read_the_verdict(page, api, new_username, verdict_of, screenshot):
    username, password = new_username(), "a long enough password"
    response = page.goto("/")
    assert "script-src 'self';" in response.headers["content-security-policy"]  # what the `page` fixture watches
    expect(page.get_by_role("heading", name="Network intrusion detection")).to_be_visible()
    screenshot(page, "login")

    sign_up = page.get_by_role("form", name="Create an account")
    sign_up.get_by_label("Username").fill(username)
    sign_up.get_by_label("Password").fill(password)
    sign_up.get_by_role("button", name="Sign up").click()
    expect(sign_up.get_by_role("alert")).to_contain_text(f'Account "{username}" created')

    log_in = page.get_by_role("form", name="Log in")
    expect(log_in.get_by_label("Username")).to_have_value(username)  # carried over from the sign-up
    log_in.get_by_label("Password").fill(password)
    log_in.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    expect(page.get_by_role("heading", name="Check one connection")).to_be_visible()

    # The default NSL-KDD model and its real DoS test record; the page must say what the API says.
    token = api.post("/auth/token", data={"username": username, "password": password}).json()["access_token"]
    models = api.get("/models", headers={"Authorization": f"Bearer {token}"}).json()["models"]
    model = next(m for m in models if m["dataset"] == "nsl-kdd" and m["default"])
    page.get_by_label("Model").select_option(model["id"])
    page.get_by_role("group", name="Fill with a real test record").get_by_role("button", name="DoS").click()
    page.get_by_role("button", name="Predict").click()

    answer = api.post(
        "/predict",
        json={"dataset": "nsl-kdd", "model": model["id"], "record": model["examples"]["DoS"]},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["prediction"]
    expect(page.locator("#verdict")).to_have_text(verdict_of(answer, model))
    expect(page.locator("#confidence")).to_contain_text(f"{answer['confidence'] * 100:.1f}%")
    bars = page.locator("#predict-result svg.bars g.bar")
    expect(bars).to_have_count(len(model["classes"]))
    expect(page.locator("#predict-result g.bar.predicted text.bar-label")).to_have_text(answer["label"])
    screenshot(page, "predict")


def test_wrong_password_and_taken_username_are_said_plainly(page, user):
    page.goto("/")
    log_in = page.get_by_role("form", name="Log in")
    log_in.get_by_label("Username").fill(user["username"])
    log_in.get_by_label("Password").fill("not the password")
    log_in.get_by_role("button", name="Log in").click()
    expect(log_in.get_by_role("alert")).to_have_text("Incorrect username or password.")
    expect(page.get_by_role("heading", name="Check one connection")).to_be_hidden()

    sign_up = page.get_by_role("form", name="Create an account")
    sign_up.get_by_label("Username").fill(user["username"])
    sign_up.get_by_label("Password").fill("another long password")
    sign_up.get_by_role("button", name="Sign up").click()
    expect(sign_up.get_by_role("alert")).to_have_text("That username is taken: choose another.")

    sign_up.get_by_label("Username").fill(user["username"] + "-2")
    sign_up.get_by_label("Password").fill("short")
    sign_up.get_by_role("button", name="Sign up").click()
    expect(sign_up.get_by_role("alert")).to_contain_text("password")


def test_logging_out_blocks_the_prediction_page(logged_in):
    page = logged_in
    expect(page.locator("#predict-form")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0

    for visit in (lambda: page.goto("/#predict"), page.reload):
        visit()
        expect(page.get_by_role("form", name="Log in")).to_be_visible()
        expect(page.locator("#predict-form")).to_have_count(0)  # not merely hidden: gone from the page
        expect(page.get_by_role("link", name="Predict")).to_be_hidden()
