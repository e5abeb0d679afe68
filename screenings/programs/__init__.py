"""The screening programs, one module each, declared as data in the engine's vocabulary.

Adding a program means one new module here, its entry in PROGRAMS, and its tests.
"""

from __future__ import annotations

from screenings.engine import Program

from . import (
    autism,
    breast_cancer,
    cervical_cancer,
    newborn_chd,
    newborn_hearing,
    newborn_metabolic,
    pmtct_hbv,
    pmtct_hiv,
    pmtct_syphilis,
)

PROGRAMS: dict[str, Program] = {
    program.code: program
    for program in (
        newborn_metabolic.PROGRAM,
        newborn_hearing.PROGRAM,
        newborn_chd.PROGRAM,
        cervical_cancer.PROGRAM,
        breast_cancer.PROGRAM,
        autism.PROGRAM,
        pmtct_hiv.PROGRAM,
        pmtct_syphilis.PROGRAM,
        pmtct_hbv.PROGRAM,
    )
}


def get_program(code: str) -> Program:
    """Return the program with this code; an unknown code is a KeyError that lists the known ones."""
    try:
        return PROGRAMS[code]
    except KeyError:
        raise KeyError(f"unknown screening program {code!r}; known programs: {', '.join(PROGRAMS)}") from None


__all__ = ["PROGRAMS", "get_program"]
