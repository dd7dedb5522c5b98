"""Request and response plumbing the factory installs: uploads kept in memory, Server-Timing."""
from __future__ import annotations

from io import BytesIO
from typing import IO

from flask import Request, g


class InMemoryUploadRequest(Request):
    """Keeps every uploaded file in memory (Werkzeug spools uploads over 500 KB to a
    temporary file). MAX_CONTENT_LENGTH bounds the memory a request can take."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        return BytesIO()


def add_server_timing(response):
    """Model time per stage (Server-Timing), so clients and the benchmark can see where
    request time goes."""
    timings = g.get("model_timings")
    if timings:
        response.headers["Server-Timing"] = ", ".join(f"{name};dur={ms:.1f}" for name, ms in timings.items())
    return response
