from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings, tmp_path, monkeypatch) -> Path:
    """Keep the password file out of the real var/ folder, and the env var unset."""
    monkeypatch.delenv("RELANCE_ADMIN_PASSWORD", raising=False)
    settings.VAR_DIR = tmp_path
    return tmp_path


def ensure_admin(*args: str) -> str:
    out = StringIO()
    call_command("ensure_admin", *args, stdout=out)
    return out.getvalue()


def test_superuser_created_with_a_stored_password_when_missing(var_dir):
    output = ensure_admin()

    password = (var_dir / "admin-password.txt").read_text().strip()
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.is_active
    assert admin.check_password(password)
    assert len(password) >= 12
    assert "http://127.0.0.1:8000/admin/" in output
    assert "user name: admin" in output
    assert f"password:  {password}" in output


def test_password_file_readable_by_its_owner_only_when_generated(var_dir):
    ensure_admin()

    assert (var_dir / "admin-password.txt").stat().st_mode & 0o077 == 0


def test_same_user_and_password_when_run_twice(var_dir):
    first = ensure_admin()
    second = ensure_admin()

    password = (var_dir / "admin-password.txt").read_text().strip()
    assert get_user_model().objects.filter(username="admin").count() == 1
    assert f"password:  {password}" in first
    assert f"password:  {password}" in second
    assert "already set up" in second


def test_password_restored_when_changed_since(var_dir):
    ensure_admin()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed-elsewhere-42")
    admin.is_staff = False
    admin.save()

    output = ensure_admin()

    admin.refresh_from_db()
    assert admin.check_password((var_dir / "admin-password.txt").read_text().strip())
    assert admin.is_staff
    assert "password reset" in output


def test_env_password_used_and_nothing_stored_when_set(var_dir, monkeypatch):
    monkeypatch.setenv("RELANCE_ADMIN_PASSWORD", "from-the-environment-7")

    output = ensure_admin("--url", "http://127.0.0.1:9000/admin/")

    assert get_user_model().objects.get(username="admin").check_password("from-the-environment-7")
    assert not (var_dir / "admin-password.txt").exists()
    assert "http://127.0.0.1:9000/admin/" in output
    assert "from-the-environment-7" in output


def test_nothing_written_when_dry_run(var_dir):
    output = ensure_admin("--dry-run")

    assert not get_user_model().objects.exists()
    assert not (var_dir / "admin-password.txt").exists()
    assert "would create superuser 'admin'" in output
