"""District overrides of [P]/[R] settings, and the evidence tag every setting carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from screenings.engine import (
    Evidence,
    Setting,
    SettingValues,
    classify,
    derive_case_state,
    exposed_infant_schedule,
    open_case,
    referenced_settings,
)
from screenings.programs import PROGRAMS, get_program

D = timedelta(days=1)
RESULTED = datetime(2026, 3, 10, 1, tzinfo=UTC)
CERVICAL = get_program("CERVICAL_CANCER")
HPV16 = {"sampled_on": "2026-03-02", "hpv_result": "POSITIVE", "hpv_types": "HPV16"}


def test_a_setting_carries_its_evidence_tag_and_source():
    notify = CERVICAL.setting("NOTIFY_DAYS")
    assert (notify.default, notify.evidence, notify.source) == (7, Evidence.PROPOSED, "§4.2 row 3")
    rescreen = get_program("NEWBORN_HEARING").setting("RESCREEN_BY_AGE_DAYS")
    assert (rescreen.default, rescreen.evidence, rescreen.source) == (42, Evidence.SOURCED, "S12,S28")
    assert get_program("NEWBORN_CHD").setting("SPO2_POSITIVE_BELOW").evidence is Evidence.RECALLED
    assert str(Evidence.PROPOSED) == "P"


def test_a_district_override_of_a_proposed_setting_changes_the_due_date(make_woman):
    woman = make_woman()
    opened = open_case(classify(CERVICAL, "HPV", HPV16, woman), woman, RESULTED)
    default = derive_case_state(CERVICAL, opened, [], RESULTED)
    district = {"CERVICAL_CANCER.NOTIFY_DAYS": 3}
    overridden = derive_case_state(CERVICAL, opened, [], RESULTED, district)
    assert default.due_at == RESULTED + 7 * D
    assert overridden.due_at == RESULTED + 3 * D
    assert overridden.overridden_settings == ("CERVICAL_CANCER.NOTIFY_DAYS",)
    assert default.overridden_settings == ()
    assert overridden.rule_version == default.rule_version == "CERVICAL_CANCER/2026.1"


def test_an_override_read_from_the_settings_table_as_text_is_coerced(make_woman):
    woman = make_woman()
    opened = open_case(classify(CERVICAL, "HPV", HPV16, woman), woman, RESULTED)
    state = derive_case_state(CERVICAL, opened, [], RESULTED, {"CERVICAL_CANCER.NOTIFY_DAYS": "10"})
    assert state.due_at == RESULTED + 10 * D


def test_an_override_of_a_cut_off_changes_the_classification(make_newborn):
    program = get_program("NEWBORN_METABOLIC")
    card = {
        "collection_status": "COLLECTED",
        "collected_at": datetime(2026, 3, 5, 2, tzinfo=UTC),
        "feeds_count": 8,
        "spot_count": 3,
        "specimen_quality": "ADEQUATE",
        "key_info_complete": True,
        "tsh_miu_l": "12",
    }
    assert classify(program, "HEEL_BLOOD_SPOT", card, make_newborn()).result_code == "SUSPECTED_POSITIVE"
    lab = {"NEWBORN_METABOLIC.TSH_CUTOFF_MIU_L": "15"}  # a screening centre with a higher TSH cut-off
    assert classify(program, "HEEL_BLOOD_SPOT", card, make_newborn(), lab).result_code == "NORMAL"


def test_an_override_moves_the_exposed_infant_schedule():
    program = get_program("PMTCT_HBV")
    birth = datetime(2026, 3, 2, 1, tzinfo=UTC)
    schedule = dict(exposed_infant_schedule(program, birth, {"PMTCT_HBV.HBIG_DOSE_1_BY_AGE_HOURS": 6}))
    assert schedule["HBIG_AND_DOSE_1"] == birth + timedelta(hours=6)


def test_overrides_of_other_programs_are_ignored_and_unknown_names_of_this_one_refused(make_woman):
    woman = make_woman()
    opened = open_case(classify(CERVICAL, "HPV", HPV16, woman), woman, RESULTED)
    every_program = {"NEWBORN_HEARING.RESCREEN_BY_AGE_DAYS": 30, "CERVICAL_CANCER.NOTIFY_DAYS": 5}
    assert derive_case_state(CERVICAL, opened, [], RESULTED, every_program).due_at == RESULTED + 5 * D
    with pytest.raises(KeyError, match="NOTIFY_DAY"):
        derive_case_state(CERVICAL, opened, [], RESULTED, {"CERVICAL_CANCER.NOTIFY_DAY": 5})


@pytest.mark.parametrize("bad", ["seven", "7.5", True])
def test_an_override_of_the_wrong_type_is_refused(bad):
    with pytest.raises(ValueError, match="NOTIFY_DAYS"):
        SettingValues.resolve(CERVICAL.settings, {"CERVICAL_CANCER.NOTIFY_DAYS": bad})


def test_decimal_settings_accept_decimal_text():
    values = SettingValues.resolve(CERVICAL.settings, {"CERVICAL_CANCER.WARN_FRACTION": "0.25"})
    assert values(CERVICAL.setting("WARN_FRACTION")) == Decimal("0.25")


def test_a_setting_refuses_floats_and_bad_names():
    with pytest.raises(TypeError):
        Setting("X.Y", 0.5, Evidence.PROPOSED, "P")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="PROGRAM.KEY"):
        Setting("lower.case", 1, Evidence.PROPOSED, "P")


@pytest.mark.parametrize("program", PROGRAMS.values(), ids=list(PROGRAMS))
def test_every_number_a_program_reads_is_a_tagged_setting_of_that_program(program):
    declared = {s.name for s in program.settings}
    assert {s.name for s in referenced_settings(program)} <= declared
    for setting in program.settings:
        assert setting.name.startswith(f"{program.code}.")
        assert isinstance(setting.evidence, Evidence)
        assert setting.source
        if setting.evidence is Evidence.SOURCED:
            assert "S" in setting.source  # a sourced value names its source (S12, S86 …)
