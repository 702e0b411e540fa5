"""Sender profiles in the admin: secrets are written, never shown back, kept when left empty."""

import pytest
from django.urls import reverse

from campaigns.models import FrequencyCap, SenderProfile

pytestmark = pytest.mark.django_db


def profile_data(**overrides) -> dict:
    data = {
        "name": "Main",
        "purpose": "main",
        "from_name": "Relance",
        "from_email": "news@example.com",
        "reply_to": "",
        "connection": "smtp",
        "smtp_host": "smtp.example.com",
        "smtp_port": "587",
        "smtp_username": "mailer",
        "smtp_password": "s3cret-pass",
        "smtp_use_tls": "on",
        "esp_name": "",
        "esp_api_key": "",
        "esp_settings": "{}",
        "rate_per_minute": "600",
    }
    return data | overrides


def test_password_is_stored_but_never_shown_back_when_a_profile_is_saved(admin_client):
    response = admin_client.post(reverse("admin:campaigns_senderprofile_add"), profile_data())
    assert response.status_code == 302
    profile = SenderProfile.objects.get()
    assert profile.smtp_password == "s3cret-pass"

    page = admin_client.get(reverse("admin:campaigns_senderprofile_change", args=[profile.pk]))

    assert page.status_code == 200
    assert "s3cret-pass" not in page.content.decode()
    assert "Set. Leave empty to keep it" in page.content.decode()


def test_secret_is_kept_when_the_field_is_left_empty_on_edit(admin_client):
    profile = SenderProfile.objects.create(
        name="Main", from_name="R", from_email="a@example.com", smtp_host="h", smtp_password="keep"
    )
    url = reverse("admin:campaigns_senderprofile_change", args=[profile.pk])

    response = admin_client.post(url, profile_data(smtp_password="", from_name="Relance news"))

    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.smtp_password, profile.from_name) == ("keep", "Relance news")


def test_secrets_are_forgotten_when_asked(admin_client):
    profile = SenderProfile.objects.create(
        name="Main", from_name="R", from_email="a@example.com", smtp_host="h", smtp_password="old"
    )
    url = reverse("admin:campaigns_senderprofile_change", args=[profile.pk])

    admin_client.post(url, profile_data(smtp_password="", clear_secrets="on"))

    profile.refresh_from_db()
    assert profile.smtp_password == ""


def test_profile_is_refused_when_smtp_has_no_host_or_both_tls_modes(admin_client):
    response = admin_client.post(
        reverse("admin:campaigns_senderprofile_add"),
        profile_data(smtp_host="", smtp_use_ssl="on"),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "smtp_host" in errors and "smtp_use_ssl" in errors
    assert not SenderProfile.objects.exists()


def test_frequency_cap_list_opens_the_one_row_when_visited(admin_client):
    response = admin_client.get(reverse("admin:campaigns_frequencycap_changelist"))

    cap = FrequencyCap.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:campaigns_frequencycap_change", args=[cap.pk])
    assert (cap.per_day, cap.per_week, cap.per_month) == (1, 3, 8)
