"""The services' old address, kept for callers not yet moved: results live in `screenings.results`, cases in
`screenings.cases`. Nothing is defined here; import from the packages in new code."""

from screenings.cases import *  # noqa: F403
from screenings.cases import __all__ as _cases
from screenings.results import *  # noqa: F403
from screenings.results import __all__ as _results

__all__ = [*_cases, *_results]
