"""``GET /healthz``: 200 while the database answers, 503 (with the reason) when it does not."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from arena.controller.web.reads import Reader
from arena.controller.web.templating import reader

router = APIRouter()


@router.get("/healthz")
def healthz(store: Annotated[Reader, Depends(reader)]) -> JSONResponse:
    try:
        store.database_reachable()
    except Exception as error:  # any driver error means the same to a probe: not ready
        return JSONResponse(
            {"status": "unavailable", "database": f"unreachable: {error}"}, status_code=503
        )
    return JSONResponse({"status": "ok", "database": "reachable"})
