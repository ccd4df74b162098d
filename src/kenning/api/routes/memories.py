"""The caller's long-term memories: list, add, delete one, delete all.

Every route acts on the authenticated caller's own memories (tenant and user name from
the credentials, never from the request), so no parameter can reach another account's;
an id of someone else's memory is a 404, exactly like an id that does not exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from kenning.api.deps import ComponentsDep, Reader
from kenning.api.schemas import MemoriesDeleted, MemoryCreate, MemoryOut
from kenning.memory import MemorySource

router = APIRouter(prefix="/v1", tags=["memories"])


@router.get("/memories")
def list_memories(caller: Reader, comps: ComponentsDep) -> list[MemoryOut]:
    """What Kenning remembers about you, newest first."""
    found = comps.memories.list_for(caller.user.tenant, caller.user.username)
    return [MemoryOut.of(m) for m in found]


@router.post("/memories", status_code=201)
def add_memory(body: MemoryCreate, caller: Reader, comps: ComponentsDep) -> MemoryOut:
    """Keep a fact or preference for your later questions (a near-identical memory you
    already have is replaced by this one)."""
    memory = comps.memories.add(
        caller.user.tenant, caller.user.username, body.text, MemorySource.EXPLICIT
    )
    return MemoryOut.of(memory)


@router.delete("/memories/{memory_id}", status_code=204)
def delete_memory(memory_id: str, caller: Reader, comps: ComponentsDep) -> Response:
    comps.memories.delete(caller.user.tenant, caller.user.username, memory_id)
    return Response(status_code=204)


@router.delete("/memories")
def delete_all_memories(caller: Reader, comps: ComponentsDep) -> MemoriesDeleted:
    """Forget everything Kenning remembers about you."""
    count = comps.memories.delete_all(caller.user.tenant, caller.user.username)
    return MemoriesDeleted(deleted=count)
