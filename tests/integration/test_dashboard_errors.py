"""The dashboard answers every Arena error a route raises with the HTTP status of its row in the
error table: JSON under /api/, the error page elsewhere (FastAPI's TestClient, real SQLite)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from arena.common.errors import (
    ArenaError,
    AuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TooLargeError,
    UnavailableError,
)
from arena.common.status import TABLE
from arena.controller.settings import ControllerSettings
from arena.controller.store.database import open_database
from arena.controller.web.app import create_app

RAISED: dict[str, ArenaError] = {
    "not-found": NotFoundError("no run 'run-nope'"),
    "invalid": InvalidRequestError("unknown preset 'fastest'"),
    "too-large": TooLargeError("too many runs"),
    "auth": AuthError("unknown token"),
    "denied": PermissionDeniedError("needs the admin role"),
    "conflict": ConflictError("already cancelled"),
    "unavailable": UnavailableError("database restarting"),
    "rate": RateLimitedError("slow down", retry_after_s=2.5),
    "plain": ArenaError("no row of its own"),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = ControllerSettings(data_dir=Path(tmp_path_factory.mktemp("dash-errors")))
    db = open_database(settings)
    router = APIRouter()

    @router.get("/api/raise/{name}")
    @router.get("/raise/{name}")
    def raising(name: str) -> None:
        raise RAISED[name]

    try:
        with TestClient(create_app(db, settings, [router])) as client:
            yield client
    finally:
        db.close()


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("not-found", 404),
        ("invalid", 422),
        ("too-large", 413),
        ("auth", 403),
        ("denied", 403),
        ("conflict", 409),
        ("unavailable", 503),
        ("rate", 429),
        ("plain", 500),
    ],
)
def test_an_arena_error_answers_with_the_tables_status(
    client: TestClient, name: str, status: int
) -> None:
    message = str(RAISED[name])
    api = client.get(f"/api/raise/{name}")
    assert (api.status_code, api.json()) == (status, {"detail": message})
    page = client.get(f"/raise/{name}")
    assert page.status_code == status and page.headers["content-type"].startswith("text/html")
    assert message.replace("'", "&#39;") in page.text


def test_a_rate_limit_says_when_to_retry(client: TestClient) -> None:
    assert client.get("/api/raise/rate").headers["retry-after"] == "3"


def test_every_row_has_an_http_error_status() -> None:
    assert all(400 <= row.http_status < 600 for row in TABLE)
