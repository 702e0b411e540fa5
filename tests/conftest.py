import os

import pytest

# Playwright drives the browser from an event loop; Django refuses sync DB calls there unless
# told it is safe (the live server runs in its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def staff_client(client, django_user_model):
    """A client logged in as a superuser, the way marketing staff use the admin."""
    user = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(user)
    client.user = user
    return client
