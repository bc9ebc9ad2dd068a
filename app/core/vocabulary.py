"""The pet's vocabulary: the species, health states and statuses, written once.

They are values of the API contract (`app.core.schemas` validates and documents them), of the
per-repository config (`species:`) and of the pet's rules (`app.entities.rules` and
`app.entities.species` re-export them), so they live on the lowest floor all of them can read.
"""

from __future__ import annotations

from typing import Final

PET: Final = "pet"
PLANT: Final = "plant"
ROBOT: Final = "robot"
GOLEM: Final = "golem"
BLOB: Final = "blob"
SPECIES: Final = (PET, PLANT, ROBOT, GOLEM, BLOB)

ALIVE: Final = "alive"
DYING: Final = "dying"
DEAD: Final = "dead"
STATUSES: Final = (ALIVE, DYING, DEAD)

THRIVING: Final = "thriving"
HEALTHY: Final = "healthy"
OKAY: Final = "okay"
POOR: Final = "poor"
STATE_DYING: Final = "dying"
HEALTH_STATES: Final = (THRIVING, HEALTHY, OKAY, POOR, STATE_DYING)
