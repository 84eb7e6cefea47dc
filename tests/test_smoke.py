async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


async def test_fresh_instance_asks_for_setup(client):
    response = await client.get("/login")
    assert response.status_code == 303
    assert response.headers["location"] == "/setup"


async def test_signed_in_browser_sees_home(browser, alice):
    person = await browser(alice)
    response = await person.get("/")
    assert response.status_code in (200, 404)
