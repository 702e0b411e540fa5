"""Imports run by a worker: the admin hands over large files as an ImportJob."""

import io
import logging
import tempfile
from pathlib import Path

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from contacts.importing.contacts import (
    ImportFileError,
    ImportOptions,
    ImportResult,
    contacts_import,
)
from contacts.models import ContactList, ImportJob, LeadSource

logger = logging.getLogger(__name__)


def import_job_create(
    *,
    file: File,
    original_name: str,
    contact_list: ContactList | None = None,
    lead_source: LeadSource | None = None,
    update_existing: bool = False,
    user=None,
) -> ImportJob:
    """Save the uploaded file on a new job and hand it to a worker once the job is committed."""
    job = ImportJob(
        original_name=Path(original_name).name[:255],
        contact_list=contact_list,
        lead_source=lead_source,
        update_existing=update_existing,
        created_by=user if user is not None and user.is_authenticated else None,
        bytes_total=file.size or 0,
    )
    job.file.save(job.original_name, file, save=False)
    job.save()
    transaction.on_commit(lambda: async_task("contacts.tasks.import_job_run", job.pk))
    return job


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run a pending job: claim it, import its file with progress, store the result.

    The claim is a conditional update, so a job handed out twice (a retried task) runs once.
    """
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    job = ImportJob.objects.select_related("contact_list", "lead_source").get(pk=job_id)
    options = ImportOptions(
        contact_list=job.contact_list,
        lead_source=job.lead_source,
        update_existing=job.update_existing,
    )

    def progress(result: ImportResult) -> None:
        ImportJob.objects.filter(pk=job.pk).update(
            bytes_read=result.bytes_read,
            bytes_total=result.bytes_total,
            rows_read=result.rows,
            created_count=result.created,
            updated_count=result.updated,
            unchanged_count=result.unchanged,
            rejected_count=result.rejected,
            merged_count=result.merged,
        )

    # Rejected rows go to a temporary file first: there may be many of them.
    with tempfile.TemporaryFile("w+b") as rejects:
        rejects_text = io.TextIOWrapper(rejects, encoding="utf-8", newline="")
        try:
            with job.file.open("rb") as stream:
                result = contacts_import(
                    stream=stream, options=options, rejects=rejects_text, progress=progress
                )
        except ImportFileError as exc:
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.FAILED, error=str(exc), finished_at=timezone.now()
            )
            return ImportJob.objects.get(pk=job.pk)
        except Exception as exc:
            logger.exception("import job %s failed", job.pk)
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.FAILED,
                error=_("unexpected error: %(error)s") % {"error": exc},
                finished_at=timezone.now(),
            )
            raise
        rejects_text.flush()
        job.refresh_from_db()
        if result.rejected:
            rejects.seek(0)
            job.rejects_file.save(f"rejects-{job.pk}.csv", File(rejects), save=False)
        rejects_text.detach()
    job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["rejects_file", "status", "finished_at"])
    return job
