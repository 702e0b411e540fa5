"""Login protection helpers for django-axes."""

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext

from config.client_ip import client_ip


def client_ip_address(request: HttpRequest) -> str | None:
    """The address django-axes counts failed logins against (see `config.client_ip`)."""
    return client_ip(request)


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The admin login page's answer to a locked-out user name and address (HTTP 429)."""
    now = timezone.now()
    context = {
        "title": gettext("Too many failed logins"),
        "cooloff": timeuntil(now + settings.AXES_COOLOFF_TIME, now),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "login_url": reverse("admin:login"),
    }
    return render(request, "staff/lockout.html", context, status=429)
