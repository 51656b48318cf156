"""`curiosft serve-reward`: score batches of responses over HTTP with the shared scoring pool.

    POST /score   {"items": [{"response", "ground_truth", "data_source", "choices"?}], "format": "eval"|"rl"}
               -> {"results": [{"score": float, "reason": str}], "grader": "name-version"}  (items' order)
    GET  /health  -> {"status": "ok", "grader", "grader_version", "workers", "timeout_s", "scored"}

math-verify runs in the pool's worker processes under a hard per-item timeout (a hung worker is killed
and replaced; the item scores 0 with the reason), so no input can stop the server. Requests are graded
on a thread pool, several at once. Optional bearer token (`--token` or CURIOSFT_REWARD_TOKEN), a
request size limit (413), 4xx with the offending field for malformed requests, graceful shutdown on
SIGINT/SIGTERM (uvicorn finishes the requests in flight, then the pool stops).
"""

from __future__ import annotations

from curiosft.defaults import GRADING_TIMEOUT_S, GRADING_WORKERS
from curiosft.errors import CuriosftError


class ServeError(CuriosftError, OSError):
    """The server cannot listen where it was asked to (the message names the address and the fix)."""


import json
import os
import secrets
import socket
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from curiosft.io import atomic_path
from curiosft.reward import DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT
from curiosft.reward.client import TOKEN_ENV
from curiosft.scoring import DEFAULT_GRADER, ScoreItem, ScoringPool, get_grader


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    response: str
    ground_truth: str
    data_source: str = ""
    # multiple-choice items: the option texts (the ground truth is then the letter)
    choices: list[str] = Field(default_factory=list)


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Item]
    format: Literal["eval", "rl"] = "rl"


class Result(BaseModel):
    score: float
    reason: str


class ScoreResponse(BaseModel):
    results: list[Result]
    # the grader's tag (curiosft.scoring.graders): name-version
    grader: str


class BodySizeLimit:
    """ASGI middleware: 413 for a request body over `max_bytes`, declared (Content-Length) or streamed
    (chunked). The body is read here, up to the limit, and handed to the app whole."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._reject(send)
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self._reject(send)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send):
        body = json.dumps({"detail": f"request body over the server's limit of {self.max_bytes} bytes; "
                                     "send fewer items per request or raise --max-body-bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def create_app(*, workers: int = GRADING_WORKERS, timeout_s: float = GRADING_TIMEOUT_S, token: str | None = None,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, ready_file: str | None = None,
               port: int | None = None, grader: str = DEFAULT_GRADER):
    """The FastAPI app; the scoring pool starts with it (lifespan) and stops with it.
    Raises UnknownNameError for an unknown `grader`, before anything starts."""
    state: dict = {"scored": 0}
    chosen = get_grader(grader)

    @asynccontextmanager
    async def lifespan(app):
        state["pool"] = ScoringPool(workers, timeout_s, grader)
        if ready_file:
            # written once the pool exists: whoever started us may now send requests (port 0 -> the real one)
            with atomic_path(ready_file) as tmp:
                tmp.write_text(json.dumps({"port": port, "pid": os.getpid()}))
        try:
            yield
        finally:
            state["pool"].close()

    app = FastAPI(title="curiosft reward server", lifespan=lifespan)

    def authorize(request: Request) -> None:
        if token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token (Authorization: Bearer <token>)",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "grader": chosen.name, "grader_version": chosen.version, "workers": workers,
                "timeout_s": timeout_s, "scored": state["scored"]}

    @app.post("/score", response_model=ScoreResponse, dependencies=[Depends(authorize)])
    async def score(request: ScoreRequest) -> dict:
        try:
            items = [ScoreItem(i.response, i.ground_truth, "multiple_choice" if i.choices else "math",
                               tuple(i.choices)) for i in request.items]
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        grades = await run_in_threadpool(state["pool"].score, items, request.format)
        state["scored"] += len(grades)
        return {"results": [{"score": g.score, "reason": g.reason} for g in grades], "grader": chosen.tag}

    return BodySizeLimit(app, max_body_bytes)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one the OS picks, read back with getsockname)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port (0: any free one)") \
            from None
    sock.listen(2048)
    return sock


def serve(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, workers: int = GRADING_WORKERS,
          timeout_s: float = GRADING_TIMEOUT_S,
          token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
          ready_file: str | None = None, log_level: str = "warning", grader: str = DEFAULT_GRADER) -> None:
    """Run the server until SIGINT/SIGTERM (blocking), or until the job that started it ends
    ($CURIOSFT_JOB_PID: curiosft.preemption.exit_with_the_job)."""
    import uvicorn

    from curiosft.preemption import exit_with_the_job

    exit_with_the_job()

    token = token or os.environ.get(TOKEN_ENV) or None
    sock = bind_socket(host, port)
    bound = sock.getsockname()[1]
    app = create_app(workers=workers, timeout_s=timeout_s, token=token, max_body_bytes=max_body_bytes,
                     ready_file=ready_file, port=bound, grader=grader)
    print(f"curiosft reward server on http://{host}:{bound} (grader {get_grader(grader).tag}, {workers} scoring "
          f"workers, {timeout_s:g} s timeout"
          f"{', bearer token required' if token else ''})", flush=True)
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=30, access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        if ready_file:
            Path(ready_file).unlink(missing_ok=True)
