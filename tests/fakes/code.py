"""Source texts that test commits add, shared by the pipeline, site and extension tests."""

from __future__ import annotations

# A deeply nested function: the analysis must score it as added complexity.
NESTED = b"""def tangled(items, flags):
    total = 0
    for item in items:
        if item:
            for flag in flags:
                if flag and item > 1:
                    while total < 100:
                        if total % 2:
                            total += item
                        else:
                            total -= 1
                        if total > 50:
                            break
    return total
"""
