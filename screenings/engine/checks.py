"""Consistency checks of a program declaration, so a typo fails a test rather than a case."""

from __future__ import annotations

from collections.abc import Iterator

from .declarations import NEXT_IN_SCHEDULE, Program
from .indicators import indicator_problems
from .messages import message_problems
from .settings import Setting
from .vocabulary import FieldKind


def referenced_settings(program: Program) -> Iterator[Setting]:
    """Yield every setting the program's declarations read (classify functions aside)."""
    rule = program.eligibility
    yield from (s for s in (rule.min_age, rule.max_age) if s is not None)
    yield from program.ltfu_policy.settings
    yield program.warn_fraction
    yield program.escalate_after_days
    for step in program.steps:
        yield from step.deadline.settings
        for _, deadline in step.track_deadlines:
            yield from deadline.settings
        for transition in step.transitions:
            if transition.deadline is not None:
                yield from transition.deadline.settings
        if step.escalate_after_days is not None:
            yield step.escalate_after_days
        if step.earliest is not None:
            yield from step.earliest.settings
    for indicator in program.indicators:
        yield from indicator.settings()
    window = program.screening_window
    if window is not None:
        yield from (
            s for s in (window.due_age, window.earliest_age, window.missed_after_age) if s is not None
        )
    for rule in program.routine_recall:
        yield rule.interval


def entry_steps(program: Program) -> set[str]:
    """Return the steps a case can start at."""
    entries = {r.first_step for t in program.tests for r in t.result_codes if r.first_step is not None}
    if program.exposed_infant is not None:
        entries.add(program.exposed_infant.first_step)
    if program.screening_window is not None:
        entries.add(program.screening_window.missed_step)
    return entries


def check_program(program: Program) -> list[str]:
    """Return every inconsistency found in a program declaration (empty when sound)."""
    problems: list[str] = []
    step_codes = {s.code for s in program.steps}
    test_codes = {t.code for t in program.tests}
    tracks = {c.code for c in program.tracks}
    if not program.rule_version.startswith(f"{program.code}/"):
        problems.append(f"rule_version {program.rule_version!r} should start with {program.code}/")
    declared = {s.name for s in program.settings}
    for setting in program.settings:
        if setting.program_code != program.code:
            problems.append(f"setting {setting.name} belongs to another program")
    for setting in referenced_settings(program):
        if setting.name not in declared:
            problems.append(f"setting {setting.name} is used but not in program.settings")
    problems.extend(message_problems(program))
    for rule in program.routine_recall:
        if rule.test not in test_codes:
            problems.append(f"routine recall names unknown test {rule.test!r}")
            continue
        opening = {r.code for r in program.test(rule.test).result_codes if r.opens_case}
        known = {r.code for r in program.test(rule.test).result_codes}
        for code in rule.results:
            if code not in known or code in opening:
                problems.append(f"routine recall after {rule.test} {code}: not a normal result of the test")
    for test in program.tests:
        for field in test.fields:
            if field.kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE) and not field.choices:
                problems.append(f"{test.code}.{field.name} has no choices")
            if field.required_when is not None and field.required_when[0] not in {
                f.name for f in test.fields
            }:
                problems.append(f"{test.code}.{field.name} depends on an unknown field")
            for choice in field.choices:
                if not (choice.zh and choice.en):
                    problems.append(f"{test.code}.{field.name}.{choice.code} lacks a label")
        for result in test.result_codes:
            if not (result.zh and result.en):
                problems.append(f"{test.code}.{result.code} lacks a label")
            if result.opens_case and (result.case_reason is None or result.first_step is None):
                problems.append(f"{test.code}.{result.code} opens a case without a reason and first step")
            if result.first_step is not None and result.first_step not in step_codes:
                problems.append(f"{test.code}.{result.code} starts at unknown step {result.first_step}")
        if test.performed_field is not None and test.performed_field not in {f.name for f in test.fields}:
            problems.append(f"{test.code} performed_field {test.performed_field} is not a field")
        for trait in test.subject_traits:
            if trait.field not in {f.name for f in test.fields}:
                problems.append(f"{test.code} trait {trait.name} is told by unknown field {trait.field}")
            if not (trait.zh and trait.en):
                problems.append(f"{test.code} trait {trait.name} lacks a label")
    for step in program.steps:
        if step.test is not None and step.test not in test_codes:
            problems.append(f"step {step.code} records unknown test {step.test}")
        for deadline in (step.deadline, *(d for _, d in step.track_deadlines)):
            if deadline.after_step is not None and deadline.after_step not in step_codes:
                problems.append(f"step {step.code} runs its deadline from unknown step {deadline.after_step}")
        for track, _ in step.track_deadlines:
            if track not in tracks:
                problems.append(f"step {step.code} has a deadline for undeclared track {track}")
        if not step.transitions:
            problems.append(f"step {step.code} has no results")
        for transition in step.transitions:
            target = transition.to_step
            if target == NEXT_IN_SCHEDULE and program.exposed_infant is None:
                problems.append(f"{step.code}.{transition.result} resumes a schedule the program lacks")
            elif target is not None and target != NEXT_IN_SCHEDULE and target not in step_codes:
                problems.append(f"{step.code}.{transition.result} leads to unknown step {target}")
            if transition.sets_track is not None and transition.sets_track not in tracks:
                problems.append(
                    f"{step.code}.{transition.result} sets undeclared track {transition.sets_track}"
                )
            if not (transition.zh and transition.en):
                problems.append(f"{step.code}.{transition.result} lacks a label")
    if program.exposed_infant is not None:
        for code in (program.exposed_infant.first_step, *program.exposed_infant.schedule):
            if code not in step_codes:
                problems.append(f"exposed-infant schedule names unknown step {code}")
        for code, result in program.exposed_infant.exposing_steps:
            if code not in step_codes or result not in program.step(code).result_codes:
                problems.append(f"exposing step result {code}.{result} is not declared")
    problems += _reachability(program, step_codes)
    results = {t.code: tuple(r.code for r in t.result_codes) for t in program.tests}
    results.update({s.code: s.result_codes for s in program.steps})
    problems += indicator_problems(program.indicators, program.milestones, results)
    return problems


def _reachability(program: Program, step_codes: set[str]) -> list[str]:
    graph: dict[str, set[str]] = {}
    closes: set[str] = set()
    schedule = set(program.exposed_infant.schedule) if program.exposed_infant else set()
    for step in program.steps:
        targets = set()
        for t in step.transitions:
            if t.outcome is not None:
                closes.add(step.code)
            elif t.to_step == NEXT_IN_SCHEDULE:
                targets |= schedule
                closes.add(step.code)  # past the end of the schedule it closes
            elif t.to_step is not None:
                targets.add(t.to_step)
        graph[step.code] = targets & step_codes
    reached: set[str] = set()
    frontier = list(entry_steps(program) & step_codes)
    while frontier:
        code = frontier.pop()
        if code not in reached:
            reached.add(code)
            frontier.extend(graph[code])
    problems = [f"step {code} cannot be reached from any entry" for code in sorted(step_codes - reached)]
    can_close = set(closes)
    changed = True
    while changed:
        changed = False
        for code, targets in graph.items():
            if code not in can_close and targets & can_close:
                can_close.add(code)
                changed = True
    problems += [f"step {code} can never lead to closure" for code in sorted(step_codes - can_close)]
    return problems
