"""Garbage collection for a process that holds many long-lived objects.

CPython collects its youngest generation every 700 allocations (net of frees) and, now and then,
walks every tracked object. A server holding ten thousand event streams holds millions of them
(each stream's task, generator, call and buffers), and with the default thresholds collecting
cost more than the work itself: delivering one event to each of 4,000 streams took about twice
the CPU per message (bench-subscriptions, README "Benchmarking event streams"). paysim's objects
rarely form cycles, so collecting far less often costs little memory.
"""

from __future__ import annotations

import gc

# Allocations between collections of the youngest generation (CPython's default: 700); the older
# generations' thresholds stay near their defaults.
YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


def collect_less_often() -> None:
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


def freeze_what_exists() -> None:
    """Everything allocated so far (modules, the wired application) lives as long as the process:
    move it out of the collector's sight, so that no collection walks it again."""
    gc.collect()
    gc.freeze()
