"""Import jobs in the admin: progress, result, rejected rows download."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.urls import reverse

from contacts.models import ImportJob

pytestmark = pytest.mark.django_db


def make_job(**fields) -> ImportJob:
    job = ImportJob(original_name="spring.csv", **fields)
    job.file.save("spring.csv", ContentFile(b"email\na@example.com\n"), save=False)
    job.save()
    return job


def job_url(job: ImportJob) -> str:
    return reverse("admin:contacts_importjob_change", args=[job.pk])


def rejects_url(job: ImportJob) -> str:
    return reverse("admin:contacts_importjob_rejects", args=[job.pk])


def with_rejects(job: ImportJob) -> ImportJob:
    job.rejects_file.save("rejects.csv", ContentFile(b"line,reason,email\n3,invalid,x\n"))
    return job


def test_job_page_shows_progress_and_refreshes_when_job_is_running(staff_client):
    job = make_job(status=ImportJob.Status.RUNNING, bytes_total=1000, bytes_read=420)

    page = staff_client.get(job_url(job)).content.decode()

    assert '<progress max="100" value="42">' in page
    assert 'http-equiv="refresh"' in page


def test_job_page_shows_counts_and_stops_refreshing_when_job_is_done(staff_client):
    job = with_rejects(
        make_job(
            status=ImportJob.Status.DONE,
            created_count=1200,
            updated_count=30,
            unchanged_count=7,
            rejected_count=4,
            merged_count=2,
        )
    )

    response = staff_client.get(job_url(job))

    page = response.content.decode()
    assert 'http-equiv="refresh"' not in page
    assert '<progress max="100" value="100">' in page
    for value in ("1200", "30", "7", "4", "2"):
        assert f'<div class="readonly">{value}</div>' in page
    assert rejects_url(job) in page


def test_job_page_shows_the_error_when_job_failed(staff_client):
    job = make_job(status=ImportJob.Status.FAILED, error="the file is empty <really>")

    page = staff_client.get(job_url(job)).content.decode()

    assert "the file is empty &lt;really&gt;" in page


def test_job_cannot_be_added_or_edited_by_hand(staff_client):
    job = make_job(status=ImportJob.Status.DONE)

    add = staff_client.get(reverse("admin:contacts_importjob_add"))
    change = staff_client.post(job_url(job), {"status": "pending"})

    assert add.status_code == 403
    assert change.status_code == 403
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE


def test_running_job_cannot_be_deleted(staff_client):
    job = make_job(status=ImportJob.Status.RUNNING)

    response = staff_client.post(
        reverse("admin:contacts_importjob_delete", args=[job.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_rejects_download_returns_the_csv_when_user_may_view_the_job(client, django_user_model):
    job = with_rejects(make_job(status=ImportJob.Status.DONE, rejected_count=1))
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    client.force_login(user)

    response = client.get(rejects_url(job))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "spring-rejects.csv" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"line,reason,email\n3,invalid,x\n"


def test_rejects_download_is_forbidden_when_user_may_not_view_jobs(client, django_user_model):
    job = with_rejects(make_job(status=ImportJob.Status.DONE, rejected_count=1))
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(user)

    response = client.get(rejects_url(job))

    assert response.status_code == 403


def test_creator_follows_the_job_when_allowed_to_import_but_not_to_view_jobs(
    client, django_user_model
):
    user = django_user_model.objects.create_user("importer", password="pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_contact", "change_contact"])
    )
    own = with_rejects(make_job(status=ImportJob.Status.DONE, created_by=user))
    other = make_job(status=ImportJob.Status.DONE)
    client.force_login(user)

    assert client.get(job_url(own)).status_code == 200
    assert client.get(rejects_url(own)).status_code == 200
    assert client.get(job_url(other)).status_code == 403


def test_rejects_download_redirects_to_login_when_anonymous(client):
    job = with_rejects(make_job(status=ImportJob.Status.DONE, rejected_count=1))

    response = client.get(rejects_url(job))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_rejects_download_is_not_found_when_job_has_no_rejects(staff_client):
    job = make_job(status=ImportJob.Status.DONE)

    assert staff_client.get(rejects_url(job)).status_code == 404
