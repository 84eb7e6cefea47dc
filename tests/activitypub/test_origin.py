"""One origin rule for every "may this server speak for that URL" check."""

from __future__ import annotations

import pytest

from activitypub.origin import origin, same_origin


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://a.example/users/x", "https://a.example/posts/1"),
        ("https://a.example:443/x", "https://a.example/y"),
        ("http://a.example:80/x", "http://a.example/y"),
        ("HTTPS://A.Example/x", "https://a.example/y"),
        ("https://bücher.example/x", "https://xn--bcher-kva.example/y"),
        ("https://BÜCHER.example/x", "https://bücher.example/y"),
        ("https://a.example./x", "https://a.example/y"),
        ("https://[::1]:8443/x", "https://[::1]:8443/y"),
    ],
)
def test_the_same_server(a: str, b: str) -> None:
    assert same_origin(a, b)
    assert same_origin(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://a.example/x", "https://a.example/x"),
        ("http://a.example:443/x", "https://a.example/x"),  # same port, other scheme
        ("https://a.example:8443/x", "https://a.example/x"),
        ("https://a.example/x", "https://b.example/x"),
        ("https://a.example/x", "https://sub.a.example/x"),
        ("https://a.example:99999/x", "https://a.example:99999/x"),  # no valid port
        ("/users/x", "/users/x"),  # no host
        ("ftp://a.example/x", "ftp://a.example/x"),
        ("", ""),
    ],
)
def test_other_servers_or_no_origin(a: str, b: str) -> None:
    assert not same_origin(a, b)


def test_origin_is_normalised() -> None:
    assert origin("HTTPS://Bücher.Example./p") == ("https", "xn--bcher-kva.example", 443)
    assert origin("http://a.example:8080") == ("http", "a.example", 8080)
