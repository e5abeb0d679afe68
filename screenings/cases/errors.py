"""Why a case action was not stored: the engine refused it, or someone changed the case first."""

from __future__ import annotations

from collections.abc import Iterable


class CaseActionRefused(ValueError):
    """The engine says this cannot happen to the case as it stands; nothing was stored."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))

    @property
    def codes(self) -> tuple[str, ...]:
        """Return the engine's problem codes (the part before the colon)."""
        return tuple(problem.split(":", 1)[0] for problem in self.problems)


class CaseConflict(RuntimeError):
    """Someone else changed the case since it was read; the caller rolls back and shows the new state."""

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        super().__init__(f"case {case_id} was changed by someone else")
