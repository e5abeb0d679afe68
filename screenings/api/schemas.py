"""The API's marshmallow schemas; the OpenAPI document is generated from them."""

from __future__ import annotations

import marshmallow as ma


class InstitutionSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class AccountSchema(ma.Schema):
    """The system account a token belongs to, and what it may send."""

    username = ma.fields.String(required=True)
    institution = ma.fields.Nested(InstitutionSchema, required=True)
    programs = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "Program codes it may send and read"}
    )
