"""make run's demo sign-up form: created once, on the Newsletter list, ready to use."""

import pytest
from django.core.management import call_command

from signups.models import SignupForm

pytestmark = pytest.mark.django_db


def test_creates_a_working_demo_form_once(client, capsys):
    call_command("seed_demo_signups")
    call_command("seed_demo_signups")

    form = SignupForm.objects.get()
    assert form.contact_list.name == "Newsletter"
    assert form.consent_version == 1
    assert client.get("/signup/newsletter/").status_code == 200
    assert "already there" in capsys.readouterr().out


def test_dry_run_creates_nothing():
    call_command("seed_demo_signups", "--dry-run")

    assert not SignupForm.objects.exists()
