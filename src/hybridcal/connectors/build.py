"""What every connector builder gets besides the settings and the HTTP session."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from hybridcal.config.secrets import Overrides

if TYPE_CHECKING:
    from hybridcal.connectors.meetings.webex_auth import TokenVault


def uncounted(_provider: str, _name: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class BuildContext:
    overrides: Overrides
    environ: Mapping[str, str]
    now: Callable[[], datetime]
    # (provider or system, call name): counted in the daemon's metrics
    on_call: Callable[[str, str], None] = field(default=uncounted)
    # where apps that keep their own tokens (the Webex Service App) keep them: the store
    vault: TokenVault | None = None

    def counter(self, provider: str) -> Callable[[str], None]:
        """``on_call`` bound to one provider, as the connectors take it."""
        return lambda name: self.on_call(provider, name)
