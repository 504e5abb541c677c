"""How ``rag serve`` answers a failure: which HTTP status and code each error a caller handles differently
gets, as ``error_body`` JSON with a message that says the fix, never a traceback; and the schema saying so."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import (EmptyIndexError, LLMError, LLMTimeoutError, RagError, SourceChangedError,
                      StoreUnavailableError, UnknownSourceError)
from .completions import UnknownModelError
from .guard import error_body
from .schemas import BadRequest, ErrorBody
from .workers import RETRY_AFTER_S, BusyError


class Unauthorized(Exception):
    """No API key, or not one of the server's."""


# what each failure a caller handles differently answers: (exception class, HTTP status, OpenAI error code)
STATUSES: list[tuple[type[Exception], int, str]] = [
    (UnknownModelError, 404, "model_not_found"), (UnknownSourceError, 404, "not_found"), (BusyError, 503, "busy"),
    (LLMTimeoutError, 504, "llm_timeout"), (LLMError, 502, "llm_error"),
    (StoreUnavailableError, 503, "store_unavailable"), (SourceChangedError, 409, "source_changed"),
    (BadRequest, 400, "invalid_request"), (RagError, 400, "invalid_request"),  # a bad question, date, filter...
]


def status_of(exc: Exception) -> tuple[int, str, str]:
    """(HTTP status, message, OpenAI error code) for an exception a request raised."""
    if isinstance(exc, Unauthorized):
        return 401, ("Missing or wrong API key: send `Authorization: Bearer KEY` with one of the server's "
                     "RAG_API_KEYS."), "invalid_api_key"
    if isinstance(exc, EmptyIndexError):
        return 409, str(exc).removesuffix(" first.") + " or POST /api/ingest first.", "empty_index"
    for kind, status, code in STATUSES:  # the first that matches: subclasses before their bases
        if isinstance(exc, kind):
            return status, str(exc), code
    return 500, f"Unexpected error ({type(exc).__name__}); the details are in the server's log.", "internal_error"


def handle_errors(app: FastAPI) -> None:
    """Errors as ``error_body`` JSON with the status ``_status`` gives, never a traceback."""

    async def failed(request: Request, exc: Exception) -> JSONResponse:
        status, message, code = status_of(exc)
        headers = {"www-authenticate": "Bearer"} if status == 401 else {}
        if status == 503:
            headers["retry-after"] = str(round(RETRY_AFTER_S))
        return JSONResponse(error_body(status, message, code=code), status_code=status, headers=headers)

    # by class; the handler of Exception itself answers, then Starlette re-raises the error into the server's
    # log with its traceback: the one place an unexpected error is logged
    for kind in (Unauthorized, BusyError, BadRequest, RagError, Exception):
        app.add_exception_handler(kind, failed)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            if e.get("type") == "json_invalid":
                problems.append(f"the body is not valid JSON ({e.get('ctx', {}).get('error', 'unreadable')}); "
                                "send a JSON object with Content-Type: application/json")
            elif where == "" and e.get("type") in ("model_attributes_type", "dict_type", "missing"):
                problems.append("the body is not a JSON object; send one with Content-Type: application/json")
            else:
                problems.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
        message = "Invalid request: " + "; ".join(problems) + ". The schema is at /openapi.json."
        return JSONResponse(error_body(400, message, code="invalid_request"), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"No such endpoint: {request.method} {request.url.path}. The endpoints are listed at /openapi.json."
        elif exc.status_code == 400 and "parsing the body" in message:  # FastAPI's words for an unreadable body
            message = ("The body could not be read: send JSON in UTF-8 with Content-Type: application/json (or, "
                       "for /api/ingest, multipart/form-data with `files`).")
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; /openapi.json lists each endpoint's methods."
        return JSONResponse(error_body(exc.status_code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))


def document_errors(app: FastAPI) -> None:
    """The schema says what the API answers: its errors are ``ErrorBody`` with 400 for an invalid request
    (FastAPI would document 422 and its own shape), and every route may also answer 401, 429 and 503."""
    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.setdefault("responses", {})
                    responses.pop("422", None)
                    for status, what in ((400, "Invalid request"), (401, "Missing or wrong API key"),
                                         (429, "Too many requests"), (503, "Busy")):
                        responses.setdefault(str(status), {"description": what, **error})
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
