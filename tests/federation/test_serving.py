"""Serving: TLS terminated by ``serve`` itself (flags or settings), and ``X-Forwarded-*``
believed only from the reverse proxies named in ``FI_TRUSTED_PROXIES``."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from fediverse_intranet.settings import SettingsError, load_settings
from tests.federation.conftest import Federation
from tests.federation.instances import PASSWORD, PROXY_ADDRESS, Instance

CLIENT_ADDRESS = "127.0.0.5"  # a client connecting directly, not through the proxy
FORWARDED = "192.0.2.1"  # documentation addresses: only ever written in a header
OTHER_FORWARDED = "192.0.2.2"


def _from(address: str, instance: Instance, federation: Federation) -> httpx.AsyncClient:
    """A client whose connections come from ``address`` (a loopback address of its own)."""
    transport = httpx.AsyncHTTPTransport(
        local_address=address, verify=federation.ca.client_context()
    )
    return httpx.AsyncClient(transport=transport, base_url=instance.url, timeout=20)


async def _sign_in(web: httpx.AsyncClient, login: str, password: str, forwarded: str) -> int:
    page = await web.get("/login", headers={"X-Forwarded-For": forwarded})
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = await web.post(
        "/login",
        data={"csrf_token": token, "login": login, "password": password},
        headers={"X-Forwarded-For": forwarded},
    )
    return answer.status_code


async def test_https_with_certificate_from_flags_and_from_settings(
    federation: Federation,
) -> None:
    """gov-a gets its certificate from ``--certfile``, gov-c from ``FI_TLS_CERTFILE``: both
    present a certificate for their own name that only the test CA vouches for."""
    for instance in (federation.a, federation.c):
        async with httpx.AsyncClient(verify=federation.ca.client_context()) as trusting:
            assert (await trusting.get(f"{instance.url}/healthz")).status_code == 200
        async with httpx.AsyncClient(verify=ssl.create_default_context()) as system_only:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await system_only.get(f"{instance.url}/healthz")
        async with httpx.AsyncClient() as plain:
            with pytest.raises(httpx.HTTPError):
                await plain.get(f"http://{instance.host}:443/healthz")


async def test_forwarded_for_believed_only_from_the_proxy(federation: Federation) -> None:
    """Sign-in throttling counts failures per client address. Behind the proxy the address is
    the one the proxy forwards; anyone else claiming an address in a header is ignored."""
    c = federation.c
    federation.accounts((c, "erin"))
    async with _from(PROXY_ADDRESS, c, federation) as proxy:
        for n in range(30):  # MAX_FAILURES_PER_ADDRESS, spread over names (5 per name)
            assert await _sign_in(proxy, f"ghost{n}", "wrong", FORWARDED) == 400
        assert await _sign_in(proxy, "erin", PASSWORD, FORWARDED) == 429, "not throttled"
        assert await _sign_in(proxy, "erin", PASSWORD, OTHER_FORWARDED) == 303
    async with _from(CLIENT_ADDRESS, c, federation) as direct:
        # Not from the proxy: the header is not believed, so this is 127.0.0.5, not throttled.
        assert await _sign_in(direct, "erin", PASSWORD, FORWARDED) == 303


def test_tls_settings_go_together_and_must_exist(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not checked here: uvicorn reads it")
    base = {"FI_DATA_DIR": str(tmp_path / "data"), "FI_BASE_URL": "https://gov-x.test"}
    with pytest.raises(SettingsError, match="set together"):
        load_settings({**base, "FI_TLS_CERTFILE": str(cert)})
    with pytest.raises(SettingsError, match="FI_TLS_KEYFILE names"):
        load_settings({**base, "FI_TLS_CERTFILE": str(cert), "FI_TLS_KEYFILE": "/nonexistent"})
    settings = load_settings({**base, "FI_TLS_CERTFILE": str(cert), "FI_TLS_KEYFILE": str(cert)})
    assert settings.tls_certfile == str(cert)
    default_base = load_settings(
        {
            "FI_DATA_DIR": str(tmp_path / "data"),
            "FI_TLS_CERTFILE": str(cert),
            "FI_TLS_KEYFILE": str(cert),
        }
    )
    assert default_base.base_url == "https://127.0.0.1:8000"
