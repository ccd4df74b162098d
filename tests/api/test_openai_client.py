"""The official ``openai`` client against a running Kenning server (``/v1`` as base URL).

The API keys are real ``kn_…`` keys created through ``POST /v1/api-keys``. No LLM is
configured, so answers are extractive: quoted sentences with ``[n]`` markers, the same
text every time for the same question and documents. One service per module (built like
conftest's ``service`` and ``live_server``): the tests only add keys and answers, and
three uploads per test would dominate the runtime.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from tests.api.conftest import Service, make_settings, running_service, serve_in_thread

QUESTION = "How many days of paid leave do staff get?"
ACME_LEAVE = b"# Leave policy\n\nStaff get 30 days of paid leave per year.\n"
GLOBEX_LEAVE = b"# Holidays\n\nStaff get 12 days of paid leave per year.\n"
ENG_ONLY = b"# Deploy freeze\n\nThe deploy freeze for engineers starts on the 14th of December.\n"


@dataclass
class Deployment:
    service: Service
    url: str
    acme_doc: str
    globex_doc: str
    eng_doc: str

    def key(self, username: str, scopes: list[str] | None = None) -> dict[str, Any]:
        """A new API key of ``username``, created by that user through the API."""
        body: dict[str, Any] = {"name": f"openai-client-{username}"}
        if scopes is not None:
            body["scopes"] = scopes
        response = self.service.client.post(
            "/v1/api-keys", headers=self.service.auth(username), json=body
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        assert created["key"].startswith(f"kn_{created['id']}_")
        return created

    @contextmanager
    def client(self, api_key: str) -> Iterator[openai.OpenAI]:
        # No retries: a 5xx or 429 must show up as the error it is, not as a slow pass.
        with openai.OpenAI(base_url=self.url + "/v1", api_key=api_key, max_retries=0) as client:
            yield client

    @contextmanager
    def client_of(self, username: str) -> Iterator[openai.OpenAI]:
        with self.client(self.key(username)["key"]) as client:
            yield client


def _document_id(service: Service, username: str, title: str) -> str:
    response = service.client.get("/v1/documents", headers=service.auth(username))
    assert response.status_code == 200, response.text
    ids = [d["id"] for d in response.json() if d["title"] == title]
    assert len(ids) == 1, response.json()
    return str(ids[0])


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    settings = make_settings(tmp_path_factory.mktemp("openai") / "data")
    with running_service(settings) as service:
        for username, files, acl in (
            ("ed", {"leave.md": ACME_LEAVE}, None),
            ("ed", {"freeze.md": ENG_ONLY}, ["group:eng"]),
            ("gus", {"holidays.md": GLOBEX_LEAVE}, None),
        ):
            job = service.upload(username, files, acl)
            assert job["status"] == "done", job
        with serve_in_thread(service.app) as url:
            yield Deployment(
                service,
                url,
                acme_doc=_document_id(service, "ed", "Leave policy"),
                globex_doc=_document_id(service, "gus", "Holidays"),
                eng_doc=_document_id(service, "vic", "Deploy freeze"),
            )


def _ask(client: openai.OpenAI, question: str = QUESTION) -> Any:
    return client.chat.completions.create(
        model="kenning", messages=[{"role": "user", "content": question}]
    )


def _cited_documents(citations: list[dict[str, Any]]) -> set[str]:
    return {c["passage"]["document_id"] for c in citations}


def test_models_list_names_kenning(deployment: Deployment) -> None:
    with deployment.client_of("ada") as client:
        models = client.models.list()
    assert [m.id for m in models.data] == ["kenning"]
    assert models.data[0].object == "model"


def test_completion_answers_from_the_document_and_cites_it(deployment: Deployment) -> None:
    with deployment.client_of("ada") as client:
        completion = client.chat.completions.create(
            model="kenning",
            messages=[
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Where is the car park?"},
                {"role": "assistant", "content": "I do not know."},
                {"role": "user", "content": QUESTION},
            ],
        )
    assert completion.object == "chat.completion"
    assert completion.model == "kenning"
    [choice] = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    content = choice.message.content or ""
    assert "30 days" in content
    assert "12 days" not in content  # the other tenant's document

    extra = completion.model_extra or {}
    citations = extra["citations"]
    assert citations, completion.to_dict()
    assert _cited_documents(citations) == {deployment.acme_doc}
    for citation in citations:
        assert f"[{citation['number']}]" in content
        assert "30 days" in citation["passage"]["text"]
    assert extra["kenning"]["mode"] == "extractive"

    # The answer was recorded for the key's owner: ada can rate it with her own token.
    feedback = deployment.service.client.post(
        f"/v1/answers/{extra['kenning']['answer_id']}/feedback",
        headers=deployment.service.auth("ada"),
        json={"rating": 1},
    )
    assert feedback.status_code == 204, feedback.text


def test_content_parts_are_read_as_the_question(deployment: Deployment) -> None:
    with deployment.client_of("ada") as client:
        completion = client.chat.completions.create(
            model="kenning",
            messages=[{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
        )
    assert "30 days" in (completion.choices[0].message.content or "")
    assert _cited_documents(completion.to_dict()["citations"]) == {deployment.acme_doc}


def test_streaming_yields_the_same_answer_and_cites_in_the_last_chunk(
    deployment: Deployment,
) -> None:
    with deployment.client_of("ada") as client:
        whole = _ask(client).choices[0].message.content
        stream = client.chat.completions.create(
            model="kenning", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        with stream:
            chunks = list(stream)

    assert len(chunks) >= 2
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert streamed
    assert streamed == whole
    assert "30 days" in streamed

    *body, last = chunks
    assert last.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in body)
    assert all("citations" not in (c.model_extra or {}) for c in body)
    citations = (last.model_extra or {})["citations"]
    assert _cited_documents(citations) == {deployment.acme_doc}
    assert all(f"[{c['number']}]" in streamed for c in citations)


@pytest.mark.parametrize(
    "api_key",
    [
        "kn_000000000000_not-a-real-secret",  # well-formed, unknown id
        "kn_short_secret",  # malformed key
        "not-a-kenning-key-or-token",  # neither a key nor an access token
    ],
)
def test_invalid_key_is_an_authentication_error(deployment: Deployment, api_key: str) -> None:
    with deployment.client(api_key) as client, pytest.raises(openai.AuthenticationError) as err:
        client.models.list()
    assert err.value.status_code == 401
    assert err.value.response.headers["content-type"].startswith("application/problem+json")
    assert err.value.response.headers["www-authenticate"] == "Bearer"


def test_wrong_secret_for_a_real_key_id_is_refused(deployment: Deployment) -> None:
    created = deployment.key("ada")
    forged = f"kn_{created['id']}_{'x' * 43}"
    with deployment.client(forged) as client, pytest.raises(openai.AuthenticationError):
        _ask(client)


def test_revoked_key_stops_working(deployment: Deployment) -> None:
    created = deployment.key("vic")
    with deployment.client(created["key"]) as client:
        assert "30 days" in (_ask(client).choices[0].message.content or "")
        revoked = deployment.service.client.delete(
            f"/v1/api-keys/{created['id']}", headers=deployment.service.auth("vic")
        )
        assert revoked.status_code == 204, revoked.text
        with pytest.raises(openai.AuthenticationError):
            _ask(client)


def test_key_without_read_scope_is_forbidden(deployment: Deployment) -> None:
    created = deployment.key("ed", scopes=["write"])
    with deployment.client(created["key"]) as client, pytest.raises(openai.PermissionDeniedError):
        _ask(client)


def test_question_without_user_text_is_a_bad_request(deployment: Deployment) -> None:
    with deployment.client_of("ada") as client, pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="kenning", messages=[{"role": "system", "content": "Be brief."}]
        )


def test_viewer_key_chats_within_its_acl(deployment: Deployment) -> None:
    freeze = "When does the deploy freeze start?"
    with deployment.client_of("vic") as vic:  # viewer in group eng
        leave = _ask(vic)
        eng = _ask(vic, freeze)
    assert "30 days" in (leave.choices[0].message.content or "")
    assert _cited_documents(leave.to_dict()["citations"]) == {deployment.acme_doc}
    assert "14th of December" in (eng.choices[0].message.content or "")
    assert deployment.eng_doc in _cited_documents(eng.to_dict()["citations"])

    with deployment.client_of("val") as val:  # viewer outside group eng
        hidden = _ask(val, freeze)
    assert "14th of December" not in (hidden.choices[0].message.content or "")
    assert deployment.eng_doc not in _cited_documents(hidden.to_dict()["citations"])


def test_other_tenant_key_never_cites_this_tenant(deployment: Deployment) -> None:
    with deployment.client_of("gus") as gus:
        completion = _ask(gus)
        stream = gus.chat.completions.create(
            model="kenning", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        with stream:
            chunks = list(stream)
        freeze = _ask(gus, "When does the deploy freeze start?")

    content = completion.choices[0].message.content or ""
    assert "12 days" in content  # globex's own document answers
    assert "30 days" not in content
    assert _cited_documents(completion.to_dict()["citations"]) == {deployment.globex_doc}

    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "30 days" not in streamed
    cited = _cited_documents((chunks[-1].model_extra or {})["citations"])
    assert deployment.acme_doc not in cited
    assert deployment.eng_doc not in cited

    freeze_content = freeze.choices[0].message.content or ""
    assert "14th of December" not in freeze_content
    assert _cited_documents(freeze.to_dict()["citations"]) <= {deployment.globex_doc}
