"""Building API URLs safely: base-URL checks, encoded path segments, token redaction."""

from __future__ import annotations

import hashlib
import ipaddress
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from yarl import URL

from ..errors import ConfigurationError

DEFAULT_BASE_URL = "https://api.buttercms.com/v2/"
REDACTED = "REDACTED"
_SECRET_QUERY_KEYS = ("auth_token",)


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host is None:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_base_url(base_url: str | URL) -> URL:
    """Validate a base URL: https, or plain http only for a loopback host; path ends in '/'."""
    url = URL(base_url)
    if not url.is_absolute() or url.scheme not in ("http", "https"):
        raise ConfigurationError(f"base_url must be an absolute http(s) URL, got {str(url)!r}")
    if url.scheme == "http" and not is_loopback_host(url.host):
        raise ConfigurationError(
            "plain http:// is refused for non-loopback hosts: tokens would travel in clear text"
        )
    if url.query_string or url.fragment:
        raise ConfigurationError("base_url must not carry a query string or fragment")
    if not url.path.endswith("/"):
        url = url.with_path(url.path + "/")
    return url


def encode_segment(segment: str | int) -> str:
    """Percent-encode one path segment so it can never add, remove or climb a path level."""
    text = str(segment)
    if text in ("", ".", ".."):
        raise ConfigurationError(f"invalid path segment {text!r}")
    # '*' is a legal path character and the API's name for single pages.
    return quote(text, safe="*")


def api_url(base_url: URL, segments: Iterable[str | int]) -> URL:
    """The URL of an endpoint under `base_url`, every segment encoded, with a trailing slash."""
    path = "".join(encode_segment(segment) + "/" for segment in segments)
    return base_url.join(URL(path, encoded=True)) if path else base_url


def redact_url(url: URL | str) -> str:
    """The URL as text with every token-bearing query parameter masked."""
    parsed = URL(url) if isinstance(url, str) else url
    if any(key in parsed.query for key in _SECRET_QUERY_KEYS):
        parsed = parsed.update_query(
            {key: REDACTED for key in _SECRET_QUERY_KEYS if key in parsed.query}
        )
    return str(parsed.with_user(None))


def check_token(name: str, token: object) -> str:
    """A token as given, refused (ConfigurationError) if it could not travel in a header/URL."""
    if not isinstance(token, str) or not token:
        raise ConfigurationError(f"{name} must be a non-empty string")
    if any(char.isspace() or unicodedata.category(char).startswith("C") for char in token):
        raise ConfigurationError(
            f"{name} contains whitespace or control characters: copy it again from the "
            "ButterCMS settings page"
        )
    return token


def secret_forms(secret: str) -> tuple[str, ...]:
    """How a secret can appear in text a server echoes: raw and percent-encoded, longest first."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    return tuple(sorted(forms, key=len, reverse=True))


def account_fingerprint(read_token: str) -> str:
    """A short hash that tells accounts apart without revealing (or needing) the token."""
    return hashlib.sha256(b"butter-async journal\x00" + read_token.encode()).hexdigest()[:16]


def cache_namespace(read_token: str, base_url: URL) -> str:
    """What every cache key of a client starts with: its account and its API root (two
    emulators, or a proxy beside the real API, never share entries), as hashes."""
    root = hashlib.sha256(str(base_url).encode()).hexdigest()[:8]
    return f"{account_fingerprint(read_token)}.{root}"
