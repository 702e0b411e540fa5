"""Brute force on the admin login: django-axes locks a user name out from an address after
AXES_FAILURE_LIMIT failed logins in a row; a success before the limit starts the count again."""

import pytest
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("admin:login")
PASSWORD = "a-long-test-password"


@pytest.fixture
def manager(django_user_model):
    return django_user_model.objects.create_user("camille", password=PASSWORD, is_staff=True)


def log_in(client, password: str, *, username: str = "camille", address: str = "203.0.113.7"):
    return client.post(
        LOGIN_URL,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_password_logs_in(client, manager):
    response = log_in(client, PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_the_account_is_locked_after_the_failure_limit_even_with_the_right_password(
    client, manager, settings
):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong").status_code == 200
    last_failure = log_in(client, "wrong")

    response = log_in(client, PASSWORD)

    assert last_failure.status_code == 429
    assert response.status_code == 429
    page = response.content.decode()
    assert 'id="lockout-message"' in page
    assert f"locked after {settings.AXES_FAILURE_LIMIT} failed logins" in page
    assert "1\xa0hour" in page
    assert not is_logged_in(client)


def test_a_success_before_the_limit_starts_the_count_again(client, manager, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()

    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "wrong")
    response = log_in(client, PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_the_lockout_holds_one_user_name_from_one_address(client, manager, django_user_model):
    django_user_model.objects.create_user("dominique", password=PASSWORD, is_staff=True)
    for _attempt in range(5):
        log_in(client, "wrong")

    other_user = log_in(client, PASSWORD, username="dominique")
    client.logout()
    other_address = log_in(client, PASSWORD, address="198.51.100.9")

    assert other_user.status_code == 302
    assert other_address.status_code == 302


def test_axes_reset_unlocks_the_account(client, manager):
    for _attempt in range(5):
        log_in(client, "wrong")
    assert log_in(client, PASSWORD).status_code == 429

    call_command("axes_reset", verbosity=0)

    assert log_in(client, PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.2"),
        (1, "198.51.100.1", "198.51.100.1"),
        # Whatever the client wrote on the left is not trusted.
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),
        (2, "198.51.100.1, 10.0.0.3", "198.51.100.1"),
        (2, "198.51.100.1", "10.0.0.2"),
    ],
)
def test_failures_are_counted_against_the_client_address_behind_proxies(
    rf, settings, proxies, forwarded, expected
):
    from staff.security import client_ip_address

    settings.RELANCE_PROXY_COUNT = proxies
    request = rf.post(LOGIN_URL, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip_address(request) == expected
