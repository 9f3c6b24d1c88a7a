"""B3: matching's solver per proposal and a batch formed together (bench/matching), at sizes that fit the run."""

from __future__ import annotations

from typing import Any

from bench.matching.__main__ import batch, build, proposals

# Bounded so that B3, B3 in the service and B4 together keep to about 3 of make bench's 10 minutes: fewer
# proposals at 100,000 people, and a batch of 200 (not 1,000: 130 s on a loaded machine) on the pool built already.
PROPOSALS = {10_000: 200, 100_000: 100}
BATCH = 200


def run(quick: bool) -> dict[str, Any]:
    sizes = [10_000] if quick else [10_000, 100_000]
    per_proposal = []
    for size in sizes:
        built, build_seconds = build(size, 7)
        count = 50 if quick else PROPOSALS[size]
        for tight in (False, True):
            measured = proposals(built, count, 7, tight)
            per_proposal.append({"pool": size, "kind": "tight" if tight else "typical",
                                 "build_seconds": build_seconds, **measured})  # fmt: skip
            print(f"  B3 pool {size:,} {'tight' if tight else 'typical'}: p50 {measured['p50']:.1f} ms "
                  f"p95 {measured['p95']:.1f} ms", flush=True)  # fmt: skip
    batch_count = 100 if quick else BATCH
    formed = batch(built, batch_count, 7)  # the last pool built: the proposals above left its loads as they were
    print(f"  B3 batch of {batch_count:,} on {sizes[-1]:,}: {formed['seconds']:.1f}s", flush=True)
    return {"per_proposal": per_proposal, "batch": {"pool": sizes[-1], **formed}}
