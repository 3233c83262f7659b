"""plotly.js from the installed plotly package (its bundled, minified copy), never from a CDN:
a dashboard on an offline network still draws its charts."""

from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter()


@cache
def plotly_js() -> Path:
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@router.get("/vendor/plotly.min.js", include_in_schema=False)
def plotly() -> FileResponse:
    return FileResponse(
        plotly_js(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )
