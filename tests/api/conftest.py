"""A Kenning service on a temporary data directory, with accounts in two tenants.

``acme``: ada (admin), ed (editor), vic (viewer, group eng), val (viewer, no group).
``globex``: gus (admin). Every password is ``PASSWORD``. ``live_server`` runs the same
app on a real uvicorn server on loopback for the streaming paths and real clients.

A module that sets ``DATABASES = ("sqlite", "postgres")`` (or a test marked
``@pytest.mark.databases("sqlite", "postgres")``) runs every test twice: on the
embedded default, and with the service database *and* the store on PostgreSQL (a fresh
database per test, cloned from a migrated template; ``KENNING_DATABASE__URL`` and
``KENNING_STORE__BACKEND`` in the environment, as a deployment sets them). Jobs then go
through procrastinate, run by a worker on a thread of the test process.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kenning.api.app import create_app
from kenning.auth.models import Role
from kenning.errors import ConflictError
from kenning.jobs import worker
from kenning.settings import ApiSettings, Settings
from kenning.wiring import Components
from tests.postgres import clone_database, drop_database

PASSWORD = "correct horse battery staple"
ACCOUNTS = {
    ("acme", "ada"): (Role.ADMIN, ()),
    ("acme", "ed"): (Role.EDITOR, ()),
    ("acme", "vic"): (Role.VIEWER, ("eng",)),
    ("acme", "val"): (Role.VIEWER, ()),
    ("globex", "gus"): (Role.ADMIN, ()),
}


@dataclass
class Service:
    app: FastAPI
    client: TestClient
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def comps(self) -> Components:
        found: Components = self.app.state.components
        return found

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def upload(
        self, username: str, files: dict[str, bytes], acl: list[str] | None = None
    ) -> dict[str, object]:
        """Upload and wait for the ingest job; returns the finished job."""
        response = self.client.post(
            "/v1/documents",
            headers=self.auth(username),
            files=[("files", (name, data)) for name, data in files.items()],
            data={"acl": acl or []},
        )
        assert response.status_code == 202, response.text
        return self.wait(username, response.json()["id"])

    def wait(self, username: str, job_id: str) -> dict[str, object]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job: dict[str, object] = self.client.get(
                f"/v1/jobs/{job_id}", headers=self.auth(username)
            ).json()
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")


def make_settings(data_dir: Path, **api: object) -> Settings:
    return Settings(data_dir=data_dir, api=ApiSettings(**{"rate_limit": "10000/minute", **api}))


def seed(comps: Components) -> None:
    """The accounts; once per database (two services of one test on PostgreSQL share
    it, as two replicas would)."""
    repo = comps.auth.repo
    for tenant in ("acme", "globex"):
        repo.ensure_tenant(tenant)
    try:
        repo.create_group("acme", "eng")
    except ConflictError:
        return
    for (tenant, username), (role, groups) in ACCOUNTS.items():
        comps.auth.create_user("test", tenant, username, PASSWORD, role)
        for group in groups:
            repo.set_membership(tenant, group, username, True)


def login(client: TestClient, tenant: str, username: str) -> str:
    response = client.post(
        "/v1/auth/login", json={"tenant": tenant, "username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("databases")
    databases = marker.args if marker else getattr(metafunc.module, "DATABASES", None)
    if databases and "database_backend" in metafunc.fixturenames:
        metafunc.parametrize("database_backend", databases, indirect=True, scope="module")


@pytest.fixture(scope="module")
def database_backend(request: pytest.FixtureRequest) -> str:
    backend: str = getattr(request, "param", "sqlite")
    return backend


@contextmanager
def database_env(backend: str, request: pytest.FixtureRequest) -> Iterator[None]:
    """For ``postgres``: a fresh migrated database, named in the environment."""
    if backend == "sqlite":
        yield
        return
    server = request.getfixturevalue("postgres_server")
    name = clone_database(server, request.getfixturevalue("migrated_template"))
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("KENNING_DATABASE__URL", str(server.get_uri(name)))
            env.setenv("KENNING_STORE__BACKEND", "postgres")
            yield
    finally:
        drop_database(server, name)


@pytest.fixture(autouse=True)
def service_database(database_backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    with database_env(database_backend, request):
        yield database_backend


@pytest.fixture(scope="module")
def module_database(database_backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The same for module-scoped services (settings are read while it is active)."""
    with database_env(database_backend, request):
        yield database_backend


@contextmanager
def job_worker(comps: Components) -> Iterator[None]:
    """When jobs go to procrastinate: a worker on a thread, sharing the app's components
    (the model is loaded once), stopped gracefully at the end."""
    if comps.job_queue.local:
        yield
        return
    worker.prepare(comps)
    loop = asyncio.new_event_loop()
    task = loop.create_task(worker.run(comps, 1, install_signal_handlers=False))

    def work() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=work, name="kenning-test-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=60)


@contextmanager
def running_service(settings: Settings, *, log_in: bool = True) -> Iterator[Service]:
    """The app started (lifespan run) with the accounts seeded; tokens if ``log_in``."""
    app = create_app(settings)
    with TestClient(app) as client, job_worker(app.state.components):
        svc = Service(app, client, settings)
        seed(svc.comps)
        if log_in:
            for tenant, username in ACCOUNTS:
                svc.tokens[username] = login(client, tenant, username)
        yield svc


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """An already started app behind a real uvicorn server on loopback; yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with running_service(make_settings(tmp_path / "data")) as svc:
        yield svc


@pytest.fixture
def live_server(service: Service) -> Iterator[str]:
    """The same app (already started by the TestClient) behind a real uvicorn server."""
    with serve_in_thread(service.app) as url:
        yield url
