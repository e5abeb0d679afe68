"""Hostile or careless input stopped at the edge with a clear answer, before it can reach the database.

Ids past the database's integer range, NUL bytes (PostgreSQL refuses them in text) and oversized bodies each
used to end in a server error; here they become a 404, a 400 naming the field, and one Chinese 413 page.
"""

from flask import Flask, Request, abort, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

# The smallest integer column either database uses for an id (PostgreSQL `integer`).
LARGEST_ID = 2**31 - 1
# One upload limit everywhere: a city-month of lab results fits (see screenings/imports).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a number past the id range matches no route, so it answers 404."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


class BoundedMultiDict(ImmutableMultiDict):
    """`request.args.get(name, type=int)` treats a number outside the id range as absent (a bad value)."""

    def get(self, key, default=None, type=None):
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and not -LARGEST_ID <= value <= LARGEST_ID:
            return default
        return value


class RegistryRequest(Request):
    parameter_storage_class = BoundedMultiDict


def refuse_nul_bytes() -> None:
    """Refuse a query or form value holding a NUL byte, naming the field; nothing is saved."""
    for source in (request.args, request.form):
        for field, value in source.items(multi=True):
            if "\x00" in field or "\x00" in value:
                request.environ["registry.bad_field"] = field.replace("\x00", "")
                abort(400)


def bad_field() -> str | None:
    """The field a refused request was refused for, for the error page."""
    return request.environ.get("registry.bad_field")


def install(app: Flask) -> None:
    """Wire the converters and checks; call before any blueprint adds its routes."""
    app.request_class = RegistryRequest
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul_bytes)
