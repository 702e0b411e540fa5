"""Security settings: HTTPS-only in production (DEBUG off), security headers everywhere, a
strict Content-Security-Policy on public pages and a policy of its own for the admin."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "config" / "settings.py"
VARIABLES = [
    "DEBUG",
    "SECURE_COOKIES",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_HOURS",
    "RELANCE_PROXY_COUNT",
]


@pytest.fixture
def load_settings(monkeypatch, tmp_path):
    """Evaluate config/settings.py afresh under a given environment."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELANCE_VAR_DIR", str(tmp_path / "var"))

    def load(**environ: str) -> dict:
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return load


def test_production_is_https_only_with_hsts_when_debug_is_off(load_settings):
    settings = load_settings(DEBUG="false")

    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] == 31536000
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert settings["SECURE_HSTS_PRELOAD"] is False
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    assert "SECURE_PROXY_SSL_HEADER" not in settings


def test_development_keeps_plain_http_when_debug_is_on(load_settings):
    settings = load_settings(DEBUG="true")

    assert "SECURE_SSL_REDIRECT" not in settings
    assert "SECURE_HSTS_SECONDS" not in settings
    assert "SESSION_COOKIE_SECURE" not in settings


def test_https_settings_follow_the_environment_when_set(load_settings):
    settings = load_settings(
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="true",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )

    assert settings["SECURE_SSL_REDIRECT"] is False
    assert settings["SECURE_HSTS_SECONDS"] == 3600
    assert settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert settings["SECURE_HSTS_PRELOAD"] is True
    assert settings["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_headers_and_cookies_are_safe_whatever_debug_says(load_settings):
    settings = load_settings(DEBUG="true")

    assert settings["X_FRAME_OPTIONS"] == "DENY"
    assert settings["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert settings["SECURE_REFERRER_POLICY"] == "same-origin"
    assert settings["SESSION_COOKIE_HTTPONLY"] is True


def test_login_lockout_follows_the_environment(load_settings):
    default = load_settings()
    settings = load_settings(AXES_FAILURE_LIMIT="10", AXES_COOLOFF_HOURS="24")

    assert (default["AXES_FAILURE_LIMIT"], default["AXES_COOLOFF_TIME"].total_seconds()) == (
        5,
        3600,
    )
    assert settings["AXES_FAILURE_LIMIT"] == 10
    assert settings["AXES_COOLOFF_TIME"].total_seconds() == 24 * 3600
    assert settings["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"]]


def test_settings_refuse_to_load_when_hsts_seconds_is_not_a_number(load_settings):
    with pytest.raises(ImproperlyConfigured, match="SECURE_HSTS_SECONDS"):
        load_settings(DEBUG="false", SECURE_HSTS_SECONDS="a year")


# What the responses carry ------------------------------------------------------------------------


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {
        name: value.strip()
        for name, _space, value in (part.strip().partition(" ") for part in policy.split(";"))
    }


@pytest.mark.django_db
def test_public_pages_get_the_strict_policy_and_security_headers(client):
    response = client.get(reverse("campaigns:unsubscribe", args=["not-a-real-token"]))

    policy = directives(response)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_admin_gets_its_own_policy_scripts_still_from_this_site_only(staff_client):
    response = staff_client.get(reverse("admin:index"))

    policy = directives(response)
    assert policy["script-src"] == "'self'"
    assert policy["img-src"] == "'self' data: https:"
    assert policy["frame-ancestors"] == "'none'"


@pytest.mark.django_db
def test_http_is_redirected_to_https_and_https_gets_hsts_when_enabled(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    login = reverse("admin:login")

    plain = client.get(login)
    secure = client.get(login, secure=True)

    assert plain.status_code == 301
    assert plain["Location"] == f"https://testserver{login}"
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
