"""Oversized bodies get a clean 413 with a reason, never a reset (issue 19, point 9).

Against the real server (``fediverse_intranet.cli serve``, uvicorn) over raw sockets, and
through a real nginx in front of it (its default upstream HTTP/1.0 closes after each answer:
before the fix nginx logged "writev() failed (32: Broken pipe) while sending request to
upstream" and answered 502). nginx is the Debian package ``nginx-light``; without it the
nginx tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from inbox.verify import MAX_BODY

ROOT = Path(__file__).resolve().parent.parent
BIG = 5 * 1024 * 1024
NGINX_CONF = """daemon off;
{user}
worker_processes 1;
pid {home}/nginx.pid;
error_log {home}/error.log info;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {home}/body;
  proxy_temp_path {home}/proxy;
  fastcgi_temp_path {home}/fastcgi;
  uwsgi_temp_path {home}/uwsgi;
  scgi_temp_path {home}/scgi;
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 64m;
    location / {{ proxy_pass http://127.0.0.1:{upstream}; }}
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"stopped before answering:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own http:// URL)
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"no answer on {url}:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The real app on a free loopback port; yields the port."""
    home = tmp_path_factory.mktemp("oversized")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FI_")}
    env.update(
        FI_DATA_DIR=str(home / "data"),
        FI_BASE_URL=f"http://127.0.0.1:{port}",
        FI_BIND_HOST="127.0.0.1",
        FI_PORT=str(port),
    )
    command = [sys.executable, "-m", "fediverse_intranet.cli"]
    log = home / "server.log"
    with log.open("wb") as out:
        subprocess.run([*command, "migrate"], cwd=ROOT, env=env, stdout=out, check=True)
        process = subprocess.Popen(
            [*command, "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process, log)
        yield port
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def nginx(server: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """nginx with its defaults (upstream HTTP/1.0, request buffering) in front of the app."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (Debian package nginx-light)")
        pytest.skip("nginx is not installed (Debian package nginx-light)")
    home = tmp_path_factory.mktemp("nginx")
    port = _free_port()
    conf = home / "nginx.conf"
    # As root, nginx's workers run as nobody, who cannot enter pytest's 0700 temp folders.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(NGINX_CONF.format(user=user, home=home, port=port, upstream=server))
    log = home / "error.log"
    log.touch()
    process = subprocess.Popen(
        [binary, "-p", str(home), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process, log)
        yield port
    finally:
        _stop(process)


def _request_head(path: str, length: int | None, content_type: str) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Accept: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def _chunked(body: bytes) -> bytes:
    step = 64 * 1024
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes; a reset fails the test (that is the bug)."""
    data = b""
    while True:
        try:
            piece = sock.recv(65536)
        except ConnectionResetError:
            pytest.fail(f"connection reset after {len(data)} bytes: {data[:200]!r}")
        except TimeoutError:
            return data  # kept alive: what came is the whole answer (Content-Length)
        if not piece:
            return data
        data += piece


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(headers.get("content-length", len(body)))
    return int(lines[0].split()[1]), headers, body[:length]


def _post(port: int, path: str, body: bytes, *, chunked: bool, content_type: str) -> tuple:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.settimeout(15)
        head = _request_head(path, None if chunked else len(body), content_type)
        try:
            sock.sendall(head + (_chunked(body) if chunked else body))
        except (BrokenPipeError, ConnectionResetError) as exc:
            pytest.fail(f"the server cut the body off: {exc!r}")
        sock.settimeout(3)
        return _parse(_read_all(sock))


def _activity(size: int) -> bytes:
    return json.dumps({"type": "Create", "padding": "x" * size}).encode()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("via", ["uvicorn", "nginx"])
def test_an_oversized_inbox_body_is_a_clean_413_with_a_reason(request, server, via, chunked):
    port = request.getfixturevalue("nginx") if via == "nginx" else server
    status, headers, body = _post(
        port, "/inbox", _activity(BIG), chunked=chunked, content_type="application/activity+json"
    )
    assert status == 413
    assert json.loads(body) == {"error": f"body larger than {MAX_BODY} bytes"}
    if via == "uvicorn":
        assert headers.get("connection") == "close"


def test_a_declared_length_over_the_cap_is_answered_before_the_body(server):
    """Content-Length says too much: the 413 comes at once, and the body sent after it is
    still read, so the connection ends cleanly."""
    with socket.create_connection(("127.0.0.1", server), timeout=15) as sock:
        sock.sendall(_request_head("/inbox", BIG, "application/activity+json"))
        sock.settimeout(5)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 413 "), first[:100]
        sock.settimeout(15)
        sock.sendall(b"x" * BIG)
        sock.settimeout(3)
        status, headers, body = _parse(first + _read_all(sock))
    assert status == 413 and headers["connection"] == "close"
    assert "error" in json.loads(body)


@pytest.mark.parametrize("via", ["uvicorn", "nginx"])
def test_an_oversized_web_upload_is_a_413_not_a_reset(request, server, via):
    port = request.getfixturevalue("nginx") if via == "nginx" else server
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image_1"; filename="a.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + b"\x00" * (41 * 1024 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, _, _ = _post(
        port,
        "/compose",
        body,
        chunked=False,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert status == 413
