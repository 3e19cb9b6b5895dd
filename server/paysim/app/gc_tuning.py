"""Garbage collection for a process that holds many long-lived objects.

CPython collects its youngest generation every 700 allocations (net of frees) and, now and then,
walks every tracked object. A server holding ten thousand event streams holds millions of them
(each stream's task, generator, call and buffers), and with the default thresholds collecting
cost more than the work itself: delivering one event to each of 4,000 streams took about twice
the CPU per message (bench-subscriptions, README "Benchmarking event streams"). paysim's objects
rarely form cycles, so collecting far less often costs little memory.

Every 50,000 allocations was still too often with ten thousand streams: their objects reached the
middle generation, and collecting it paused the process for 380–480 ms, several times while the
streams opened and the events went out. Every 200,000 allocations: in three runs of each, 10,000
streams and 20 events, the collector's time went from 2.2–2.7 s to 0.6 s, a delivered message's
CPU from 48–56 µs to 40–45 µs, and (two runs of each) the last subscriber's p99 from 730–940 ms
to 470–510 ms.
"""

from __future__ import annotations

import gc

# Allocations between collections of the youngest generation (CPython's default: 700); the older
# generations' thresholds stay near their defaults.
YOUNG_THRESHOLD = 200_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


def collect_less_often() -> None:
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


def freeze_what_exists() -> None:
    """Everything allocated so far (modules, the wired application) lives as long as the process:
    move it out of the collector's sight, so that no collection walks it again."""
    gc.collect()
    gc.freeze()
