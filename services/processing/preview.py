"""Which ≤ 30 s of a plan tells most about it: the run-up into the biggest energy jump.

A preview starts two bars before the section whose energy rises most over the one before
(a drop says so in its description too), so it plays the end of the build and the first
bars of the drop (shorter when the plan ends sooner). Without a clear jump (under 0.2) it
is the first 30 s.
"""

from __future__ import annotations

import numpy as np

from shared.contracts.orchestrator import Masterplan

_MIN_JUMP = 0.2
_DROP_BONUS = 0.2
_LEAD_IN_BARS = 2


def preview_window(plan: Masterplan, *, max_sec: float) -> tuple[float, float]:
    """(start_sec, end_sec) of the preview in output time; at most `max_sec` long."""
    durations = [section.duration_sec for section in plan.timeline]
    edges = np.concatenate([[0.0], np.cumsum(durations)])
    total = float(edges[-1])
    if total <= max_sec:
        return 0.0, total
    best, best_jump = None, _MIN_JUMP
    for i in range(1, len(plan.timeline)):
        jump = plan.timeline[i].energy_level - plan.timeline[i - 1].energy_level
        if "drop" in plan.timeline[i].description.lower():
            jump += _DROP_BONUS
        if jump >= best_jump + 1e-9 or (best is None and jump >= _MIN_JUMP):
            best, best_jump = i, jump
    if best is None:
        return 0.0, float(max_sec)
    bar_sec = plan.global_.timeSignature[0] * 60.0 / plan.global_.targetBPM
    start = max(0.0, float(edges[best]) - _LEAD_IN_BARS * bar_sec)
    return start, min(total, start + max_sec)
