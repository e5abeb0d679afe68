"""A district's own values of its programs' [P] and [R] settings: stored as append-only changes, read
as the values in force at a moment, kept by each case from its opening (architecture rule 5)."""

from screenings.district_settings.models import DistrictSettingChange
from screenings.district_settings.service import (
    DistrictSettings,
    SettingChangeRefused,
    change_district_setting,
    district_id_of,
    for_program,
    settings_for_institution,
    settings_in_force,
    stored_values_of,
)

__all__ = [
    "DistrictSettingChange",
    "DistrictSettings",
    "SettingChangeRefused",
    "change_district_setting",
    "district_id_of",
    "for_program",
    "settings_for_institution",
    "settings_in_force",
    "stored_values_of",
]
