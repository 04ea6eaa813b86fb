"""Errors as JSON with a code, a message and, for validation errors, one entry per field.

Bad input never produces a 500: malformed JSON and invalid UTF-8 are 400, a wrong content type
415, an oversized body 413, a schema violation 422 naming each field; an unreachable database
503 with Retry-After, so the client retries and nothing is lost silently.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout as PgPoolTimeout
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from agent.embedded.postgres import EmbeddedServiceError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5


def error_response(
    status: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        headers=headers,
        content={"error": {"code": code, "message": message, "fields": fields or []}},
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid")
        return error_response(
            400,
            "invalid_json",
            f"the body is not valid JSON: {detail.get('ctx', {}).get('error', '')}".rstrip(": "),
        )
    fields = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in errors]
    return error_response(
        422, "validation_error", f"{len(fields)} field(s) are missing or invalid", fields
    )


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        415: "unsupported_media_type",
        422: "unprocessable",
        429: "rate_limited",
    }.get(exc.status_code, "error")
    return error_response(
        exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None)
    )


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", type(exc).__name__)
    return error_response(
        503,
        "unavailable",
        "the database is unreachable; retry later with the same source and external_id "
        "(a ticket stored before the failure is routed once and that decision is returned)",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # Input that passed validation but that Postgres cannot store: the client's to fix.
    log.warning("rejected a value the database cannot store: %s", type(exc).__name__)
    return error_response(
        422,
        "invalid_value",
        "a value cannot be stored (e.g. an unsupported character or a number out of range)",
    )


async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
    if isinstance(exc.orig, psycopg.DataError):
        return await _data_error(request, exc)
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return await _unavailable(request, exc)
    log.exception("database error")
    return error_response(500, "internal_error", "an internal error occurred")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)
    app.add_exception_handler(PgPoolTimeout, _unavailable)
    app.add_exception_handler(psycopg.OperationalError, _unavailable)
    app.add_exception_handler(OSError, _unavailable)
    app.add_exception_handler(EmbeddedServiceError, _unavailable)
    app.add_exception_handler(DBAPIError, _dbapi)  # type: ignore[arg-type]
    app.add_exception_handler(psycopg.DataError, _data_error)
