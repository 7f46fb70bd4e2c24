"""Bulk import of units, users and assignments from CSV.

The file's columns and the result records are in ``files``, the checks of
each row in ``validation``, the writes in ``writing``; this module runs them.

Every row is validated first and errors are reported by line number; if any
row is invalid nothing is written. Valid files are written in a single
transaction, so a database error half way leaves nothing behind either. A
dry run goes one step further: it performs the writes and rolls them back,
so it also catches what only the database would refuse.
"""

import csv

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from ..assignments import auto_assign_paused
from .files import KINDS, MAX_BYTES, ImportFileError, ImportResult, RowError, read_rows
from .validation import VALIDATORS
from .writing import write_assignments, write_units, write_users

__all__ = ["KINDS", "ImportFileError", "ImportResult", "RowError", "decode_upload", "progress_key", "run_import", "run_job"]


class _DryRunRollback(Exception):
    pass


def run_import(kind, text, *, dry_run=True, actor=None, progress=None):
    """Validate (and unless ``dry_run``, write) one CSV file of ``kind``."""
    result = ImportResult(kind=kind, dry_run=dry_run)
    try:
        rows = read_rows(text, kind)
    except ImportFileError as exc:
        result.errors.append(RowError(1, "", str(exc)))
        return result
    except csv.Error as exc:
        result.errors.append(RowError(1, "", f"The file is not valid CSV: {exc}"))
        return result
    result.rows = len(rows)
    for line, row in rows:
        if "__extra__" in row:
            result.errors.append(RowError(line, "", "This row has more values than the header has columns."))
    if result.errors:
        return result
    ops, errors = VALIDATORS[kind](rows)
    result.errors = sorted(errors, key=lambda e: e.line)
    if result.errors:
        return result
    tick = progress or (lambda line: None)
    try:
        with transaction.atomic(), auto_assign_paused():
            if kind == "units":
                write_units(ops, result, tick)
            elif kind == "users":
                write_users(ops, result, tick)
            else:
                write_assignments(ops, result, tick, actor)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    except (DatabaseError, ValidationError) as exc:
        result.errors.append(RowError(0, "", f"The database refused the import, so nothing was written: {exc}"))
        result.created = result.updated = result.enrolments = 0
    return result


def decode_upload(data):
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("The file is neither UTF-8 nor Windows-1252 text.")


def progress_key(job_id):
    return f"training:import:{job_id}:progress"


def run_job(job_id):
    """Run an ``ImportJob`` (from the admin), publishing progress in the cache."""
    from django.core.cache import cache

    from ..models import ImportJob, ImportStatus

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status not in (ImportStatus.QUEUED,):
        return None
    job.status = ImportStatus.RUNNING
    job.save(update_fields=["status"])
    done = [0]

    def tick(line):
        done[0] += 1
        if done[0] % 50 == 0:
            cache.set(progress_key(job.pk), done[0], 3600)

    result = run_import(job.kind, job.content, dry_run=job.dry_run, actor=job.uploaded_by, progress=tick)
    cache.set(progress_key(job.pk), done[0], 3600)
    job.total_rows = result.rows
    job.errors = [e.as_dict() for e in result.errors]
    job.summary = {"text": result.summary(), "created": result.created, "updated": result.updated,
                   "enrolments": result.enrolments}
    if not result.ok:
        job.status = ImportStatus.INVALID if any(e.line for e in result.errors) else ImportStatus.FAILED
    else:
        job.status = ImportStatus.VALID if job.dry_run else ImportStatus.DONE
    job.finished_at = timezone.now()
    job.save()
    return job.status
