"""Import jobs run by a worker: claimed once, progress and result stored, failures explained."""

import csv

import pytest
from django.core.files.base import ContentFile

from contacts.importing import import_job_create, import_job_run
from contacts.models import Contact, ImportJob
from tests.factories import ContactListFactory

pytestmark = pytest.mark.django_db


def make_job(content: bytes, **options) -> ImportJob:
    # Tasks run inline in tests: the job runs when the transaction commits.
    return import_job_create(file=ContentFile(content), original_name="../up/load.csv", **options)


def test_job_imports_the_file_and_stores_counts_and_rejects(django_capture_on_commit_callbacks):
    contact_list = ContactListFactory(name="Salon 2025")
    with django_capture_on_commit_callbacks(execute=True):
        job = make_job(b"email,first_name\na@example.com,Ann\nbad,Bob\n", contact_list=contact_list)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.original_name == "load.csv"
    assert (job.created_count, job.rejected_count, job.rows_read) == (1, 1, 2)
    assert job.progress_percent == 100
    assert list(contact_list.contacts.values_list("email", flat=True)) == ["a@example.com"]
    with job.rejects_file.open("r") as f:
        rows = list(csv.reader(f))
    assert rows[1][:2] == ["3", "invalid e-mail address 'bad'"]


def test_job_runs_once_when_the_task_is_delivered_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = make_job(b"email\na@example.com\n")

    assert import_job_run(job_id=job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.Status.DONE, 1)
    assert Contact.objects.count() == 1


def test_job_fails_with_the_reason_when_the_file_is_unusable(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = make_job(b"name,phone\nAnn,0612345678\n")

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "no e-mail column" in job.error
    assert not Contact.objects.exists()
