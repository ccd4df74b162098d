"""Documents over HTTP: uploads (limits, bad files), downloads, deletes, ACL changes,
folder sources, streaming chat on a real server, rate limits."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from kenning.settings import WebSettings
from tests.api.conftest import Service, login, make_settings, running_service
from tests.fakes.website import FakeWebsite, html

DATABASES = ("sqlite", "postgres")
HANDBOOK = (
    b"# Travel policy\n\nTrain travel is booked in second class for trips under four hours.\n"
)


def doc_id(service: Service, filename: str, tenant: str = "acme") -> str:
    for doc in service.comps.store.list_documents(tenant):
        if doc.metadata.get("filename") == filename:
            return doc.id
    raise AssertionError(f"{filename} not indexed")


def test_upload_over_the_limit_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", max_upload_bytes=10_000)
    with running_service(settings) as svc:
        client, headers = svc.client, svc.auth("ed")
        big = b"# Big\n\n" + b"word " * 5000
        response = client.post("/v1/documents", headers=headers, files=[("files", ("big.md", big))])
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert "limit" in response.json()["detail"]
        stored = list((settings.uploads_dir).rglob("*")) if settings.uploads_dir.exists() else []
        assert not [p for p in stored if p.is_file()]
        assert client.get("/v1/jobs", headers=headers).json() == []

        def chunked() -> object:  # no Content-Length: the limit is counted as bytes arrive
            yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="c.md"\r\n\r\n'
            for _ in range(100):
                yield b"x" * 1000
            yield b"\r\n--b--\r\n"

        streamed = client.post(
            "/v1/documents",
            headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
            content=chunked(),
        )
        assert streamed.status_code == 413


def test_corrupt_file_fails_alone_and_good_files_land(service: Service) -> None:
    job = service.upload(
        "ed", {"broken.pdf": b"%PDF-1.7\n this is not a pdf", "travel.md": HANDBOOK}
    )
    assert job["status"] == "done"
    report = job["report"]
    assert report["added"] == 1
    assert report["failed"] == 1
    assert "broken.pdf" in report["errors"][0]["source"]
    everything_broken = service.upload("ed", {"empty.docx": b""})
    assert everything_broken["status"] == "failed"


def test_download_returns_the_original_only_to_readers(service: Service) -> None:
    service.upload("ed", {"secret.md": b"# Board\n\nThe merger closes in May.\n"}, ["user:vic"])
    document = doc_id(service, "secret.md")
    ok = service.client.get(f"/v1/documents/{document}/download", headers=service.auth("vic"))
    assert ok.status_code == 200
    assert ok.content == b"# Board\n\nThe merger closes in May.\n"
    for outsider in ("val", "gus"):
        denied = service.client.get(
            f"/v1/documents/{document}/download", headers=service.auth(outsider)
        )
        assert denied.status_code == 404  # indistinguishable from a missing document


def test_acl_change_takes_effect_and_is_audited(service: Service) -> None:
    service.upload("ed", {"travel.md": HANDBOOK})
    document = doc_id(service, "travel.md")

    def visible(user: str) -> bool:
        body = {"query": "train travel second class"}
        hits = service.client.post("/v1/search", headers=service.auth(user), json=body).json()
        return any(h["document_id"] == document for h in hits["hits"])

    assert visible("val")
    changed = service.client.put(
        f"/v1/documents/{document}/acl",
        headers=service.auth("ed"),
        json={"public": False, "users": ["ed"], "groups": ["eng"]},
    )
    assert changed.status_code == 200
    assert not visible("val")
    assert visible("vic")
    events = service.client.get(
        "/v1/audit", headers=service.auth("ada"), params={"action": "document.acl"}
    ).json()
    assert events[-1]["target"] == document
    assert events[-1]["detail"]["after"]["groups"] == ["eng"]


def test_deleted_document_is_gone_everywhere(service: Service) -> None:
    service.upload("ed", {"travel.md": HANDBOOK})
    document = doc_id(service, "travel.md")
    assert (
        service.client.delete(f"/v1/documents/{document}", headers=service.auth("ed")).status_code
        == 204
    )
    assert (
        service.client.get(f"/v1/documents/{document}", headers=service.auth("ed")).status_code
        == 404
    )
    hits = service.client.post(
        "/v1/search", headers=service.auth("ed"), json={"query": "train travel"}
    ).json()["hits"]
    assert all(h["document_id"] != document for h in hits)
    assert not list(service.settings.uploads_dir.rglob("travel.md"))


def test_folder_sources_stay_inside_the_allowed_roots(tmp_path: Path) -> None:
    root = tmp_path / "shared-drive"
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "travel.md").write_bytes(HANDBOOK)
    settings = make_settings(tmp_path / "data", source_roots=[root])
    with running_service(settings) as svc:
        client, headers = svc.client, svc.auth("ed")
        outside = client.post("/v1/sources", headers=headers, json={"location": "/etc"})
        assert outside.status_code == 403
        sneaky = client.post(
            "/v1/sources", headers=headers, json={"location": str(root / ".." / "data")}
        )
        assert sneaky.status_code == 403
        source = client.post(
            "/v1/sources", headers=headers, json={"location": str(root / "policies")}
        ).json()
        job = client.post(f"/v1/sources/{source['id']}/sync", headers=headers).json()
        assert svc.wait("ed", job["id"])["report"]["added"] == 1
        (root / "policies" / "travel.md").unlink()
        job = client.post(f"/v1/sources/{source['id']}/sync", headers=headers).json()
        assert svc.wait("ed", job["id"])["report"]["deleted"] == 1


def test_url_sources_are_fetched_through_the_ssrf_guard(tmp_path: Path) -> None:
    with FakeWebsite() as site:
        site.page("/kb/index.html", html("Travel", "Train travel is second class zqtrain."))
        strict = make_settings(tmp_path / "strict")
        with running_service(strict) as svc:
            refused = svc.client.post(
                "/v1/sources",
                headers=svc.auth("ed"),
                json={"kind": "url", "location": site.url("/kb/index.html")},
            )
            assert refused.status_code == 403
            assert "non-public" in refused.json()["detail"]
            for bad in ("file:///etc/passwd", "http://user:pw@example.com/", "ftp://x/"):
                response = svc.client.post(
                    "/v1/sources", headers=svc.auth("ed"), json={"kind": "url", "location": bad}
                )
                assert response.status_code == 400, bad
        assert site.requests == []

        settings = make_settings(tmp_path / "data").model_copy(
            update={"web": WebSettings(allow_networks=["127.0.0.1/32"])}
        )
        with running_service(settings) as svc:
            client, headers = svc.client, svc.auth("ed")
            viewer = client.post(
                "/v1/sources", headers=svc.auth("vic"), json={"kind": "url", "location": "x"}
            )
            assert viewer.status_code == 403
            source = client.post(
                "/v1/sources",
                headers=headers,
                json={"kind": "url", "location": site.url("/kb/index.html"), "max_pages": 5},
            ).json()
            assert (source["kind"], source["max_pages"]) == ("url", 5)
            job = client.post(f"/v1/sources/{source['id']}/sync", headers=headers).json()
            assert svc.wait("ed", job["id"])["report"]["added"] == 1
            (hit,) = client.post(
                "/v1/search", headers=svc.auth("val"), json={"query": "zqtrain"}
            ).json()["hits"]
            assert hit["source"] == site.url("/kb/index.html")
            download = client.get(f"/v1/documents/{hit['document_id']}/download", headers=headers)
            assert download.content == site.pages["/kb/index.html"].body
            assert client.delete(f"/v1/sources/{source['id']}", headers=headers).status_code == 204
            assert (
                client.get(f"/v1/documents/{hit['document_id']}", headers=headers).status_code
                == 404
            )
            assert not list(settings.web_dir.rglob("*.html"))


def test_chat_streams_server_sent_events_on_a_real_server(
    service: Service, live_server: str
) -> None:
    service.upload("ed", {"travel.md": HANDBOOK})
    events: list[tuple[str, object]] = []
    with httpx.stream(
        "POST",
        f"{live_server}/v1/chat",
        headers=service.auth("vic"),
        json={"question": "In which class is train travel booked?", "stream": True},
        timeout=60,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    assert events[0][0] == "sources"
    assert events[-1][0] == "answer"
    answer = events[-1][1]
    assert isinstance(answer, dict)
    assert "second class" in answer["text"]
    assert answer["citations"][0]["passage"]["title"] == "Travel policy"
    feedback = service.client.post(
        f"/v1/answers/{answer['answer_id']}/feedback",
        headers=service.auth("vic"),
        json={"rating": 1, "comment": "spot on"},
    )
    assert feedback.status_code == 204
    # Someone else's answer cannot be rated, and the conversation is private.
    assert (
        service.client.post(
            f"/v1/answers/{answer['answer_id']}/feedback",
            headers=service.auth("val"),
            json={"rating": -1},
        ).status_code
        == 404
    )
    conv = answer["conversation_id"]
    assert (
        service.client.get(f"/v1/conversations/{conv}", headers=service.auth("vic")).status_code
        == 200
    )
    assert (
        service.client.get(f"/v1/conversations/{conv}", headers=service.auth("val")).status_code
        == 404
    )


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with running_service(
        make_settings(tmp_path / "data", rate_limit="3/minute"), log_in=False
    ) as svc:
        client = svc.client
        headers = {"Authorization": f"Bearer {login(client, 'acme', 'val')}"}
        codes = [client.get("/v1/users/me", headers=headers).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/v1/users/me", headers=headers)
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.json()["status"] == 429
        other = {"Authorization": f"Bearer {login(client, 'acme', 'vic')}"}
        assert client.get("/v1/users/me", headers=other).status_code == 200  # per user


def test_login_is_rate_limited_per_client_and_user(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", login_rate_limit="3/minute")
    with running_service(settings, log_in=False) as svc:
        client = svc.client
        wrong = {"tenant": "acme", "username": "ada", "password": "guess guess guess"}
        codes = [client.post("/v1/auth/login", json=wrong).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
