"""Serves the console page at `/` and its files under `/static`; the page holds no data of its own."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB = Path(__file__).parent

router = APIRouter(include_in_schema=False)
static_files = StaticFiles(directory=WEB / "static")


@router.get("/")
async def console() -> FileResponse:
    return FileResponse(WEB / "index.html", media_type="text/html")
