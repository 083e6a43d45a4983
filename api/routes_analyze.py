"""POST /analyze (LLM label, probabilities, rationale) and GET /tasks."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from api.deps import AUTH_RESPONSES, caller, get_server, require_token
from api.schemas import Analysis, AnalyzeRequest, TaskInfo

router = APIRouter(tags=["llm"], dependencies=[Depends(require_token)], responses=AUTH_RESPONSES)


@router.post("/analyze", response_model=Analysis,
             responses={401: {"description": "Missing or wrong bearer token"},
                        404: {"description": "Unknown task"}, 503: {"description": "The LLM cannot load"}})
def analyze(body: AnalyzeRequest, server=Depends(get_server), who: str = Depends(caller)) -> dict:
    """Label by scoring each answer sentence, then a rationale generated after the chosen one."""
    from core.llm.tasks import TASKS

    if body.task not in TASKS:
        raise HTTPException(404, detail={"code": "unknown_task",
                                         "message": f"Unknown task {body.task!r}; see GET /tasks"})
    return server.analyze(body.text, body.task, caller=who)


@router.get("/tasks", response_model=list[TaskInfo])
def tasks() -> list[dict]:
    """The clinical tasks /analyze answers."""
    from core.llm.tasks import TASKS

    return [{"name": t.name, "title": t.title, "kind": t.kind, "labels": list(t.labels)} for t in TASKS.values()]
