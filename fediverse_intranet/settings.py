"""One settings object, read once from ``FI_*`` environment variables.

A bad value stops the start with one clear line (``SettingsError``), never a traceback.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from activitypub.addresses import Network, parse_networks


class SettingsError(ValueError):
    """A setting has a value we cannot start with; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    base_url: str
    data_dir: Path
    database_url: str
    secret_key: str
    bind_host: str
    bind_port: int
    instance_name: str
    run_worker_in_web: bool
    session_days: int
    trusted_proxies: str
    federation_private_networks: tuple[Network, ...]
    extra_ca_file: str
    tls_certfile: str = ""
    tls_keyfile: str = ""
    hsts_max_age: int = 365 * 86400

    @property
    def domain(self) -> str:
        """Host (and port, when not default) that names this instance in handles."""
        return urlsplit(self.base_url).netloc

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _existing_file(name: str, raw: str) -> str:
    if raw and not Path(raw).is_file():
        raise SettingsError(f"{name} names {raw}, which is not a readable file")
    return raw


def _tls_files(certfile: str, keyfile: str) -> tuple[str, str]:
    """Both or neither: a certificate without its key (or the reverse) cannot serve TLS."""
    if bool(certfile) != bool(keyfile):
        raise SettingsError("FI_TLS_CERTFILE and FI_TLS_KEYFILE must be set together")
    return (
        _existing_file("FI_TLS_CERTFILE", certfile),
        _existing_file("FI_TLS_KEYFILE", keyfile),
    )


def _base_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SettingsError(
            f"FI_BASE_URL must be an http(s) URL like https://intranet.example.nl, not {raw!r}"
        )
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise SettingsError("FI_BASE_URL must not have a path, query or fragment")
    return f"{parts.scheme}://{parts.netloc}"


def _private_networks(env: dict[str, str]) -> tuple[Network, ...]:
    """The private networks federation may reach; the old on/off switch stops the start."""
    if "FI_FEDERATION_ALLOW_PRIVATE" in env:
        raise SettingsError(
            "FI_FEDERATION_ALLOW_PRIVATE is replaced by FI_FEDERATION_PRIVATE_NETWORKS, a "
            "comma-separated list of CIDR networks federation may reach (e.g. 10.20.0.0/16)"
        )
    try:
        return parse_networks(env.get("FI_FEDERATION_PRIVATE_NETWORKS", ""))
    except ValueError as exc:
        raise SettingsError(f"FI_FEDERATION_PRIVATE_NETWORKS: {exc}") from None


def _database_url(raw: str, data_dir: Path) -> str:
    if not raw:
        return f"sqlite://{data_dir / 'db.sqlite3'}?busy_timeout=5000&synchronous=NORMAL"
    scheme = raw.split("://", 1)[0]
    if scheme == "postgresql":
        return "postgres://" + raw.split("://", 1)[1]
    if scheme not in {"sqlite", "postgres"}:
        raise SettingsError(
            f"FI_DATABASE_URL must start with sqlite:// or postgres://, not {scheme}://"
        )
    return raw


def _secret_key(raw: str, data_dir: Path) -> str:
    """Use FI_SECRET_KEY, or generate one on first run and keep it in the data folder."""
    if raw:
        if len(raw) < 32:
            raise SettingsError("FI_SECRET_KEY must be at least 32 characters")
        return raw
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read and check every setting; creates the data folder when it is missing."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("FI_DATA_DIR", "data")).resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"FI_DATA_DIR {data_dir} cannot be created: {exc.strerror}") from None
    port = _int("FI_PORT", env.get("FI_PORT", "8000"), 1, 65535)
    host = env.get("FI_BIND_HOST", "127.0.0.1")
    local = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 (not a bind)
    certfile, keyfile = _tls_files(env.get("FI_TLS_CERTFILE", ""), env.get("FI_TLS_KEYFILE", ""))
    default_base = f"{'https' if certfile else 'http'}://{local}:{port}"
    return Settings(
        base_url=_base_url(env.get("FI_BASE_URL", default_base)),
        data_dir=data_dir,
        database_url=_database_url(env.get("FI_DATABASE_URL", ""), data_dir),
        secret_key=_secret_key(env.get("FI_SECRET_KEY", ""), data_dir),
        bind_host=host,
        bind_port=port,
        instance_name=env.get("FI_INSTANCE_NAME", "").strip()[:80],
        run_worker_in_web=_bool("FI_WORKER_IN_WEB", env.get("FI_WORKER_IN_WEB", "true")),
        session_days=_int("FI_SESSION_DAYS", env.get("FI_SESSION_DAYS", "14"), 1, 365),
        trusted_proxies=env.get("FI_TRUSTED_PROXIES", "127.0.0.1"),
        federation_private_networks=_private_networks(env),
        extra_ca_file=_existing_file("FI_EXTRA_CA_FILE", env.get("FI_EXTRA_CA_FILE", "")),
        tls_certfile=certfile,
        tls_keyfile=keyfile,
        hsts_max_age=_int("FI_HSTS_MAX_AGE", env.get("FI_HSTS_MAX_AGE", "31536000"), 0, 63072000),
    )
