"""Benchmark of group formation: `.venv/bin/python -m bench.matching [--sizes 1000 10000 100000]`.

For each synthetic pool: time per proposal (p50/p95/p99, CP-SAT with its greedy fallback, on the
in-memory index), coverage versus greedy alone on the same pool, and a batch of initiatives formed
together sharing capacity. Prints a Markdown report (bench/matching/README.md keeps the last one).
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from collections import Counter

from bench.matching.synthetic import need, organisations, pool
from services.matching.domain.formation import propose_many
from services.matching.domain.pool import Pool
from services.matching.domain.profiles import Need
from services.matching.domain.rules import violations
from services.matching.domain.solver import Infeasible, Proposal, SolverSettings, propose


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def build(size: int, seed: int) -> tuple[Pool, float]:
    rng = random.Random(seed)
    started = time.perf_counter()
    built = Pool(capacity=size)
    for candidate in pool(rng, size):
        built.upsert(candidate)
    return built, time.perf_counter() - started


def timed(need_: Need, built: Pool, settings: SolverSettings) -> tuple[Proposal | None, float]:
    started = time.perf_counter()
    try:
        found: Proposal | None = propose(need_, built.view(), settings=settings)
    except Infeasible:
        found = None
    return found, time.perf_counter() - started


def proposals(built: Pool, count: int, seed: int, tight: bool) -> dict[str, object]:
    rng = random.Random(seed + 1)
    originators = organisations(rng, 2000)
    needs = [need(rng, originators, tight=tight) for _ in range(count)]
    exact, greedy = SolverSettings(), SolverSettings(use_cp_sat=False)
    for warm in needs[:5]:  # import and first-call costs are not per proposal
        timed(warm, built, exact)
    times, greedy_times, solvers = [], [], Counter[str]()
    uncovered_exact = uncovered_greedy = more = fewer = better = infeasible = broken = 0
    for n in needs:
        found, seconds = timed(n, built, exact)
        alone, greedy_seconds = timed(n, built, greedy)
        times.append(seconds)
        greedy_times.append(greedy_seconds)
        if found is None or alone is None:
            infeasible += 1
            continue
        solvers[found.solver] += 1
        broken += bool(violations(n, found.members, found.representative))
        uncovered_exact += len(found.uncovered)
        uncovered_greedy += len(alone.uncovered)
        more += len(found.uncovered) < len(alone.uncovered)
        fewer += len(found.uncovered) > len(alone.uncovered)
        better += found.score > alone.score
    needed = sum(len(n.competences) for n in needs)
    return {
        "p50": percentile(times, 0.50) * 1000,
        "p95": percentile(times, 0.95) * 1000,
        "p99": percentile(times, 0.99) * 1000,
        "max": max(times) * 1000,
        "greedy_p95": percentile(greedy_times, 0.95) * 1000,
        "coverage_exact": 1 - uncovered_exact / needed,
        "coverage_greedy": 1 - uncovered_greedy / needed,
        "more": more,
        "fewer": fewer,
        "better": better,
        "infeasible": infeasible,
        "broken": broken,
        "solvers": dict(solvers),
        "count": count,
    }


def batch(built: Pool, count: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed + 2)
    originators = organisations(rng, 2000)
    needs = [need(rng, originators) for _ in range(count)]
    loads = {c: built.get(c) for c in built.ids()}
    started = time.perf_counter()
    results = propose_many(needs, built)
    seconds = time.perf_counter() - started
    booked: Counter[object] = Counter()
    formed = [r for _, r in results if not isinstance(r, Infeasible)]
    for proposal in formed:
        booked.update(m.id for m in proposal.members)
    over = sum(1 for person, seats in booked.items() if loads[person].load + seats > loads[person].capacity)  # type: ignore[union-attr,index]
    uncovered = sum(len(p.uncovered) for p in formed)
    needed = sum(len(p.need.competences) for p in formed)
    return {
        "count": count,
        "seconds": seconds,
        "formed": len(formed),
        "people": len(booked),
        "over": over,
        "coverage": 1 - uncovered / max(needed, 1),
    }


PROPOSALS_HEADER = (
    "| pool | initiatives | index build | p50 | p95 | p99 | max | greedy-only p95 "
    "| coverage CP-SAT | coverage greedy | CP-SAT covers more / fewer | CP-SAT better objective "
    "| infeasible | rule breaks | solver used |"
)
BATCH_HEADER = "| batch | pool | total | per initiative | groups formed | people booked | beyond capacity | coverage |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--proposals", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    print(f"Python {platform.python_version()} on {platform.machine()}; seed {args.seed}\n")
    print(PROPOSALS_HEADER)
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for size in args.sizes:
        built, build_seconds = build(size, args.seed)
        for tight in (False, True):
            r = proposals(built, args.proposals, args.seed, tight)
            print(
                f"| {size:,} | {'tight' if tight else 'typical'} | {build_seconds:.1f} s | {r['p50']:.1f} ms "
                f"| {r['p95']:.1f} ms | {r['p99']:.1f} ms | {r['max']:.1f} ms | {r['greedy_p95']:.1f} ms "
                f"| {r['coverage_exact']:.1%} | {r['coverage_greedy']:.1%} "
                f"| {r['more']} / {r['fewer']} of {r['count']} | {r['better']} "
                f"| {r['infeasible']} | {r['broken']} | {r['solvers']} |",
                flush=True,
            )
    print("\n" + BATCH_HEADER)
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.batch_sizes:
        b = batch(build(size, args.seed)[0], args.batch, args.seed)
        per = 1000 * float(b["seconds"]) / args.batch  # type: ignore[arg-type]
        print(
            f"| {args.batch:,} | {size:,} | {b['seconds']:.1f} s | {per:.1f} ms | {b['formed']:,} | {b['people']:,} "
            f"| {b['over']} | {b['coverage']:.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
