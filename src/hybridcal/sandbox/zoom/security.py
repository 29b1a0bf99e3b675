"""The ``meeting_security`` settings of the account and of its users.

A user's value is the account's unless it was set for that user (per field: a user-level rule
overrides only the fields it names). Only ``option=meeting_security`` is modelled in full;
``GET .../settings`` without an option answers a small ``schedule_meeting`` section plus
``meeting_security``.

Simplified: no locked settings, no group level, no webinar settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hybridcal.sandbox.zoom.passcodes import PasswordRules

ENCRYPTION_TYPES = frozenset({"enhanced_encryption", "e2ee"})


@dataclass(frozen=True)
class SecurityFlags:
    auto_security: bool = True
    waiting_room: bool = False
    meeting_password: bool = True
    require_password_for_scheduled_meeting: bool = True
    embed_password_in_join_link: bool = True
    phone_password: bool = False
    pmi_password: bool = True  # Zoom's default since 2020: the PMI needs a passcode
    only_authenticated_can_join_from_webclient: bool = False
    block_user_domain: bool = False
    encryption_type: str = "enhanced_encryption"

    def updated(self, **flags: Any) -> SecurityFlags:
        names = {f.name for f in dataclasses.fields(self)}
        for name, value in flags.items():
            if name not in names:
                raise ValueError(f"unknown meeting_security setting: {name}")
            if name == "encryption_type":
                if value not in ENCRYPTION_TYPES:
                    raise ValueError(f"encryption_type must be one of {sorted(ENCRYPTION_TYPES)}")
            elif not isinstance(value, bool):
                raise ValueError(f"{name} must be a boolean")
        return dataclasses.replace(self, **flags)


class SecurityPolicy:
    def __init__(self) -> None:
        self.account_rules = PasswordRules()
        self.account_flags = SecurityFlags()
        self._user_rules: dict[str, dict[str, Any]] = {}
        self._user_flags: dict[str, dict[str, Any]] = {}

    def set_rules(self, user_id: str | None, rules: dict[str, Any]) -> None:
        if user_id is None:
            self.account_rules = self.account_rules.updated(**rules)
            return
        merged = {**self._user_rules.get(user_id, {}), **rules}
        self.account_rules.updated(**merged)  # validate now, apply lazily
        self._user_rules[user_id] = merged

    def set_flags(self, user_id: str | None, flags: dict[str, Any]) -> None:
        if user_id is None:
            self.account_flags = self.account_flags.updated(**flags)
            return
        merged = {**self._user_flags.get(user_id, {}), **flags}
        self.account_flags.updated(**merged)
        self._user_flags[user_id] = merged

    def rules_for(self, user_id: str | None) -> PasswordRules:
        if user_id is None:
            return self.account_rules
        return self.account_rules.updated(**self._user_rules.get(user_id, {}))

    def flags_for(self, user_id: str | None) -> SecurityFlags:
        if user_id is None:
            return self.account_flags
        return self.account_flags.updated(**self._user_flags.get(user_id, {}))

    def render(self, user_id: str | None) -> dict[str, Any]:
        flags = self.flags_for(user_id)
        rules = self.rules_for(user_id)
        return {
            "auto_security": flags.auto_security,
            "block_user_domain": flags.block_user_domain,
            "embed_password_in_join_link": flags.embed_password_in_join_link,
            "encryption_type": flags.encryption_type,
            "end_to_end_encrypted_meetings": flags.encryption_type == "e2ee",
            "meeting_password": flags.meeting_password,
            "meeting_password_requirement": rules.as_dict(),
            "only_authenticated_can_join_from_webclient": (
                flags.only_authenticated_can_join_from_webclient
            ),
            "phone_password": flags.phone_password,
            "pmi_password": flags.pmi_password,
            "require_password_for_scheduled_meeting": (
                flags.require_password_for_scheduled_meeting
            ),
            "waiting_room": flags.waiting_room,
            "webinar_password": False,
        }
