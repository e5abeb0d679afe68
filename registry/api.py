"""The JSON API's plumbing: the OpenAPI document, bearer-token authentication, RFC 9457 problem details.

The API's routes are flask-smorest blueprints made by `api_blueprint()`: every call there carries a system
account's bearer token (registry.auth.system_accounts), which becomes `g.user`, so that the one access
policy decides what it may see and do, and the audit trail names the account. Errors are problem
details (application/problem+json) naming the fields, never an HTML page or a stack trace. The OpenAPI
3.1 document is generated from the same marshmallow schemas and served at /api/v1/openapi.json, with a
plain HTML reading of it at /api/v1/docs (served by the application, no CDN).
"""

from __future__ import annotations

import hashlib
import http
from typing import NoReturn

import flask_smorest
import marshmallow as ma
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException, default_exceptions

from registry import audit, clock
from registry.extensions import csrf, db, limiter

PREFIX = "/api/v1"
PROBLEM = "application/problem+json"
# The statuses an API route answers with a problem document.
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500)
BEARER = "bearerToken"


class ProblemFieldSchema(ma.Schema):
    """One field-level error: where (a JSON pointer into the request), a stable code and a message."""

    pointer = ma.fields.String(required=True, metadata={"example": "/items/0/values/left_ear"})
    code = ma.fields.String(required=True, metadata={"example": "REQUIRED"})
    message = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document."""

    type = ma.fields.String(required=True, metadata={"example": "about:blank"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(ProblemFieldSchema))


class RegistryApi(flask_smorest.Api):
    """flask-smorest's Api, with problem details, and leaving the web pages' own error pages alone."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        # flask-smorest would answer every HTTP error of the whole application with JSON; only the API's
        # blueprints do (see api_blueprint).
        pass

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def field_error(pointer: str, code: str, message: str) -> dict:
    return {"pointer": pointer, "code": code, "message": message}


def problem(status: int, detail: str = "", errors: list[dict] | None = None, headers: dict | None = None):
    """A problem-details response; `errors` name the fields as JSON pointers."""
    body: dict = {"type": "about:blank", "title": http.HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def refuse(status: int, detail: str = "", errors: list[dict] | None = None) -> NoReturn:
    """Stop an API call and answer with a problem document (`errors` naming the fields)."""
    error = default_exceptions[status](description=detail)
    error.data = {"problem_errors": errors or []}
    raise error


def pointers(messages, path: str = "") -> list[dict]:
    """Flatten marshmallow's nested error messages into one field error per JSON pointer."""
    found: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            found += pointers(value, path if key == "_schema" else f"{path}/{key}")
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            found.append(field_error(path or "/", _code_of(message), message))
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            found += pointers(value, f"{path}/{index}")
    else:
        found.append(field_error(path or "/", _code_of(str(messages)), str(messages)))
    return found


def _code_of(message: str) -> str:
    """marshmallow's English message as a stable code (our own fields' messages are codes already)."""
    if message.isupper() or message.replace("_", "").isupper():
        return message
    known = {
        "Missing data for required field.": "REQUIRED",
        "Unknown field.": "UNKNOWN_FIELD",
        "Field may not be null.": "REQUIRED",
        "Not a valid string.": "INVALID",
        "Not a valid integer.": "INVALID_INTEGER",
        "Not a valid date.": "INVALID_DATE",
        "Not a valid datetime.": "INVALID_DATETIME",
        "Invalid input type.": "INVALID",
    }
    return known.get(message, "INVALID")


def handle_http_error(error: HTTPException):
    """Answer an HTTP error under the API as a problem (also for a URL no API route matches)."""
    return _handle(error)


def _handle(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("problem_errors")
    if "messages" in data:  # webargs (flask-smorest's @arguments): {location: {field: [messages]}}
        messages = data["messages"]
        messages = messages.get("json", messages.get("query", messages))
        errors = pointers(messages)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    detail = "" if status >= 500 else (getattr(error, "description", "") or "")
    if errors and "messages" in data:
        detail = "the request does not match the API's schema"
    return problem(status, detail if isinstance(detail, str) else "", errors, headers)


def _handle_server_error(error):
    # Nothing of the failed call stays (its writes are one transaction), and never a stack trace in the
    # answer; the log keeps it, scrubbed of identifiers.
    db.session.rollback()
    return problem(500, "an unexpected error; nothing was saved")


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate_request():
    """Every API call carries a system account's token: it becomes the user the access policy judges."""
    from registry.auth.system_accounts import authenticate

    # A browser's login cookie never reaches the API: only the token counts (and CSRF does not apply).
    g.user = None
    g.pop("scope", None)
    token = _bearer_token()
    account = authenticate(token, clock.now()) if token else None
    if account is None:
        audit.security_log.warning(
            "API call refused: %s token", "no" if token is None else "unknown or revoked"
        )
        refuse(401, "a valid bearer token is needed")
    g.user = account
    if db.session.dirty:  # the token's last use, written at most once a minute
        db.session.commit()
    if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
        refuse(415, "send application/json")


def _rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", "600 per minute")


def _rate_key() -> str:
    """Each token has its own budget (by a hash: the secret is never a key in the limiter's store)."""
    token = _bearer_token()
    if token is None:
        return f"api-anonymous:{request.remote_addr}"
    return "api-token:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def api_blueprint(name: str, import_name: str, description: str = "") -> flask_smorest.Blueprint:
    """A blueprint of the API: token-authenticated, rate-limited per token, exempt from CSRF (no cookie),
    problems for errors."""
    blueprint = flask_smorest.Blueprint(name, import_name, url_prefix=PREFIX, description=description)
    limiter.limit(_rate_limit, key_func=_rate_key)(blueprint)
    blueprint.before_request(authenticate_request)
    for status in ERROR_STATUSES:
        blueprint.register_error_handler(status, _handle if status != 500 else _handle_server_error)
    csrf.exempt(blueprint)
    return blueprint


def install(app: Flask, blueprints, components: dict[str, dict] | None = None) -> RegistryApi:
    """Build this application's API: its OpenAPI document and the blueprints that serve it."""
    app.config.setdefault("API_TITLE", "Screening Registry")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = RegistryApi()
    api.init_app(
        app,
        spec_kwargs={
            "info": {
                "description": "For lab and hospital information systems: submit results, look up people, "
                "results and cases. Every call carries a system account's bearer token.",
            },
        },
    )
    api.spec.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{BEARER: []}]
    for name, component in (components or {}).items():  # JSON schemas the domain generates
        api.spec.components.schema(name, component)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    app.add_url_rule(f"{PREFIX}/docs", "api_docs.page", _docs_page)
    app.extensions["registry_api"] = api
    return api


def _docs_page():
    """A readable page of the OpenAPI document, rendered here (no Swagger UI from a CDN)."""
    spec = current_app.extensions["registry_api"].spec.to_dict()
    return render_template("api_docs.html", spec=spec)
