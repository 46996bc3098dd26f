"""System checks of the site's broker settings (`manage.py check`, and every start)."""

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

from broker.auth import REVOCATION_SECONDS


@register()
def token_outlives_revocation(**kwargs: Any) -> list[Warning]:
    """A kick on our broker refuses the kicked player's earlier tokens for REVOCATION_SECONDS;
    a token that lives longer would let a kicked page back in once that is over."""
    if settings.QUIZ_BROKER != "builtin" or settings.STOMP_TOKEN_TTL_SECONDS <= REVOCATION_SECONDS:
        return []
    return [
        Warning(
            f"STOMP_TOKEN_TTL_SECONDS={settings.STOMP_TOKEN_TTL_SECONDS} outlives the built-in "
            f"broker's memory of a kick ({REVOCATION_SECONDS:.0f} s): a kicked player's page "
            "could come back with its token once the broker forgets the kick.",
            hint=f"Set STOMP_TOKEN_TTL_SECONDS to {REVOCATION_SECONDS:.0f} or less.",
            id="quiz.W001",
        )
    ]
