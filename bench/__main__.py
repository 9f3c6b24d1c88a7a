"""`make bench`: every benchmark beside its baselines in one run; writes bench/results/latest.md and plots.

    .venv/bin/python -m bench                 # B1, B2 (and B2n: notifications alone), B3, B4 (under 10 minutes)
    .venv/bin/python -m bench --quick         # shorter runs, smaller tables (a smoke run, ~3 minutes)
    .venv/bin/python -m bench --only b1       # one benchmark

Needs PostgreSQL at MEETMALMO_TEST_POSTGRES_URL and Kafka at MEETMALMO_KAFKA_BOOTSTRAP (`make kafka-up
postgres-up`); makes its own databases and topic namespace there and removes them afterwards.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import b1_intake, b2_end_to_end, b2_notify, b3_matching, b3_service, b4_replay, infra, report

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs and small tables (smoke run)")
    parser.add_argument("--only", choices=["b1", "b2", "b2n", "b3", "b3s", "b4"], action="append",
                        help="only these (b2: end to end; b2n: notifications alone; b3s: matching as a service; "
                             "b4: the replay)")  # fmt: skip
    parser.add_argument("--seconds", type=float, help="length of each wrk run (default 5, quick 4)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    args = parser.parse_args()
    only = set(args.only or ["b1", "b2", "b2n", "b3", "b3s", "b4"])
    seconds = args.seconds or (4.0 if args.quick else 5.0)  # B1 fits in 3.5 of make bench's 10 minutes
    started = time.monotonic()
    meta = {
        "commit": infra.git_commit(),
        "machine": infra.machine(),
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": seconds,
    }
    print(f"bench: {meta['machine']}; commit {meta['commit']}", flush=True)
    results: dict[str, object] = {"meta": meta}
    if "b1" in only:
        sizes = [0, 10_000] if args.quick else [0, 10_000, 100_000]
        profiles = None if args.no_profile else RESULTS / "profiles"
        rows = b1_intake.run(seconds, sizes, [16, 32, 64], profiles)
        results["b1"] = b1_intake.as_dicts(rows)
        results["b1_profiles"] = report.profile_shares(profiles) if profiles else {}
    if "b2" in only:
        profiles = None if args.no_profile else RESULTS / "profiles-b2"
        rows_b2 = b2_end_to_end.run([20, 100, 200], 10.0 if args.quick else 30.0, profile_dir=profiles)
        results["b2"] = b2_end_to_end.as_dicts(rows_b2)
        results["b2_profiles"] = report.profile_shares(profiles, report.B2_PROFILE_NEEDLES) if profiles else {}
    if "b2n" in only:
        results["b2n"] = b2_notify.run(events=1_000 if args.quick else 3_000, cap=30 if args.quick else 45)
    if "b3" in only:
        results["b3"] = b3_matching.run(quick=args.quick)
    if "b3s" in only:
        results["b3s"] = b3_service.run(pool=300 if args.quick else 1_000, together=50)
    if "b4" in only:
        results["b4"] = b4_replay.run(events=10_000 if args.quick else 100_000, cap=60 if args.quick else 90)
    meta["total_seconds"] = round(time.monotonic() - started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str))
    report.write(results, args.output)
    print(f"bench: wrote {args.output} in {meta['total_seconds']}s", flush=True)


if __name__ == "__main__":
    main()
