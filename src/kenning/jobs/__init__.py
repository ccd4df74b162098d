"""Ingestion jobs: recorded in the database, run off the request path."""

from kenning.jobs.repository import Job, JobKind, JobRepository, JobStatus
from kenning.jobs.runner import JobRunner

__all__ = ["Job", "JobKind", "JobRepository", "JobRunner", "JobStatus"]
