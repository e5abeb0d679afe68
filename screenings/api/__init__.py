"""The JSON API for lab and hospital systems: result submission through the one recording path, look-ups
of people, results and cases through the one access policy (routes in views.py, schemas in schemas.py)."""

from screenings.api.views import bp

__all__ = ["bp"]
