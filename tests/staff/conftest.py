import pytest
from django.contrib.auth.models import Group

from staff.roles import ADMINISTRATOR, MANAGER, MARKETER

ROLES = (MARKETER, MANAGER, ADMINISTRATOR)


@pytest.fixture
def role_client(client, django_user_model):
    """`role_client(name)`: the test client logged in as a staff member (not a superuser)
    whose only permissions come from the role's group."""

    def log_in(role: str):
        user = django_user_model.objects.create_user(
            role.lower(), f"{role.lower()}@example.com", "pw-role-1", is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        client.user = user
        return client

    return log_in
