"""Base URL rules, segment encoding and redaction."""

from __future__ import annotations

import pytest
from yarl import URL

from butter_async import ButterClient, ConfigurationError
from butter_async.transport.urls import api_url, encode_segment, parse_base_url, redact_url

BASE = URL("https://api.buttercms.com/v2/")


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8000/v2/",
        "http://localhost:1/v2",
        "http://[::1]:9/v2/",
        "http://127.8.9.1/",
    ],
)
def test_plain_http_is_allowed_for_loopback(base_url: str) -> None:
    assert parse_base_url(base_url).path.endswith("/")


@pytest.mark.parametrize(
    "base_url",
    ["http://api.buttercms.com/v2/", "http://10.0.0.1/v2/", "http://localhost.evil.com/v2/"],
)
def test_plain_http_is_refused_for_other_hosts(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="http://"):
        ButterClient("token", base_url=base_url)


@pytest.mark.parametrize("base_url", ["ftp://x/v2/", "/v2/", "https://x/v2/?a=1"])
def test_unusable_base_urls_are_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_base_url(base_url)


def test_base_url_gets_its_trailing_slash() -> None:
    assert str(parse_base_url("https://api.buttercms.com/v2")) == "https://api.buttercms.com/v2/"


@pytest.mark.parametrize(
    ("segment", "encoded"),
    [
        ("a/b", "a%2Fb"),
        ("x?y#z", "x%3Fy%23z"),
        ("100%", "100%25"),
        ("crème brûlée", "cr%C3%A8me%20br%C3%BBl%C3%A9e"),
        ("*", "*"),
        ("..x", "..x"),
    ],
)
def test_segments_are_percent_encoded(segment: str, encoded: str) -> None:
    assert encode_segment(segment) == encoded


@pytest.mark.parametrize("segment", ["", ".", ".."])
def test_segments_that_would_move_the_path_are_refused(segment: str) -> None:
    with pytest.raises(ConfigurationError):
        encode_segment(segment)


def test_api_url_stays_under_the_base_and_ends_with_a_slash() -> None:
    url = api_url(BASE, ["pages", "*", "../../admin?x=1"])
    assert str(url) == "https://api.buttercms.com/v2/pages/*/..%2F..%2Fadmin%3Fx%3D1/"
    assert url.path.startswith("/v2/pages/")


def test_redact_url_masks_the_read_token() -> None:
    url = "https://api.buttercms.com/v2/posts/?page=2&auth_token=s3cret"
    redacted = redact_url(url)
    assert "s3cret" not in redacted
    assert "auth_token=REDACTED" in redacted
    assert "page=2" in redacted
