"""Presets: a CRM's own export files → the canonical tables (text columns), before the common parsing.

A preset names the files it reads (case-insensitive file names in a folder, else recognised by their
headers; a single file is its main table), its default stage and activity names, and a vectorised `build`
that returns canonical deals / stage_history / activities / reps as text DataFrames.
"""

from __future__ import annotations

from ...config import PRESET_NAMES
from ...errors import ConfigError
from .amocrm import AMOCRM
from .bitrix24 import BITRIX24
from .common import Preset, PresetReader, Tables
from .hubspot import HUBSPOT
from .pipedrive import PIPEDRIVE
from .salesforce import SALESFORCE
from .zoho import ZOHO

PRESETS: dict[str, Preset] = {p.name: p for p in (HUBSPOT, PIPEDRIVE, SALESFORCE, AMOCRM, BITRIX24, ZOHO)}
if tuple(PRESETS) != PRESET_NAMES:  # config validates preset names without importing the presets
    raise RuntimeError(f"config.PRESET_NAMES {PRESET_NAMES} differs from the presets {tuple(PRESETS)}")

__all__ = ["PRESETS", "Preset", "PresetReader", "Tables", "guess_preset", "preset_named"]


def preset_named(name: str) -> Preset:
    try:
        return PRESETS[name.strip().lower()]
    except KeyError:
        raise ConfigError(f'Unknown preset "{name}"; known presets: {", ".join(PRESETS)} (or none for the '
                          "canonical layout).") from None


def guess_preset(headers: list[str]) -> Preset | None:
    """The preset whose main export has these headers (None: the canonical layout or unknown)."""
    return next((p for p in PRESETS.values() if p.role_of(headers) == p.main), None)
