"""The decay defaults every pet starts with, and the bounds `decay:` may set.

They are column defaults of `entities` (`app.core.models`) as well as inputs of the pet's rules
(`app.entities.rules`, which re-exports them), so they live on the lowest floor both can read.
"""

from __future__ import annotations

from typing import Final

DECAY_PER_DAY: Final = 2
GRACE_DAYS: Final = 3
MAX_GRACE_DAYS: Final = 60
MAX_DECAY_PER_DAY: Final = 10
