"""bench/results/latest.md and its plots from one run's figures (and the recorded "before" run, if any)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import infra

BEFORE = Path(__file__).parent / "results" / "before.json"  # the run on the commit before the redesign

PROFILE_NEEDLES = [
    ("duplicate hint (rapidfuzz over open rows)", "likely_duplicates"),
    ("loading open initiatives", "open_candidates"),
    ("reference number", "next_reference_number"),
    ("duplicate hint consumer (after commit)", "note_possible_duplicates"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("asyncpg", "asyncpg/"),
    ("pydantic", "pydantic"),
    ("outbox relay", "outbox.py"),
    ("Kafka consumer (inbox)", "inbox.py"),
    ("aiokafka", "aiokafka/"),
    ("structlog", "structlog/"),
    ("OpenTelemetry", "opentelemetry/"),
    ("HTTP (uvicorn/h11/httptools)", "uvicorn/"),
]

B2_PROFILE_NEEDLES = [  # notifications under B2's highest rate
    ("consuming events (inbox)", "inbox.py"),
    ("queueing emails (rendering included)", "queue_emails"),
    ("rendering (Jinja2)", "rendering.py"),
    ("sender rounds", "send_due_emails"),
    ("building messages", "build_message"),
    ("SMTP (aiosmtplib)", "aiosmtplib/"),
    ("recording outcomes", "_record"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("asyncpg", "asyncpg/"),
    ("outbox relay", "outbox.py"),
    ("aiokafka", "aiokafka/"),
    ("structlog", "structlog/"),
]


def profile_shares(
    folder: Path | None, needles: list[tuple[str, str]] = PROFILE_NEEDLES
) -> dict[str, dict[str, float]]:
    if folder is None or not folder.exists():
        return {}
    return {raw.stem: infra.top_frames(raw, needles) for raw in sorted(folder.glob("*.txt"))}


def _cell(rows: list[dict[str, Any]], target: str, c: int, size: int) -> dict[str, Any] | None:
    found = [r for r in rows if r["target"] == target and r["connections"] == c and r["open_initiatives"] == size]
    return found[-1] if found else None


def _b1_table(rows: list[dict[str, Any]], before: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| target | conns | open initiatives | req/s | p50 | p99 | errors | naive req/s (same run) "
        "| lean req/s (same run) | × naive | % of lean | before (req/s, p99) | drain after run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    # The baselines measured right before each intake run are its own: pair them by position.
    last: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["target"] in ("naive", "lean"):
            last[row["target"]] = row
            continue
        naive, lean = last.get("naive"), last.get("lean")
        earlier = _cell(before, row["target"], row["connections"], row["open_initiatives"])
        was = f"{earlier['requests_per_second']:.0f}, {earlier['p99_ms']:.0f} ms" if earlier else "—"
        ratio_naive = f"{row['requests_per_second'] / naive['requests_per_second']:.2f}×" if naive else "—"
        share_lean = f"{row['requests_per_second'] / lean['requests_per_second']:.0%}" if lean else "—"
        drain = f"{row['drain_seconds']:.1f} s" if row.get("drain_seconds") is not None else "—"
        lines.append(
            f"| {row['target']} | {row['connections']} | {row['open_initiatives']:,} | "
            f"{row['requests_per_second']:.0f} | {row['p50_ms']:.1f} ms | {row['p99_ms']:.1f} ms | {row['errors']} | "
            f"{naive['requests_per_second'] if naive else 0:.0f} | {lean['requests_per_second'] if lean else 0:.0f} | "
            f"{ratio_naive} | {share_lean} | {was} | {drain} |"
        )
    return lines


def _goals(rows: list[dict[str, Any]]) -> list[str]:
    def pair(
        target: str, c: int, size: int
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]:
        last: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["target"] in ("naive", "lean"):
                last[row["target"]] = row
            elif row["target"] == target and row["connections"] == c and row["open_initiatives"] == size:
                return row, last.get("naive"), last.get("lean")
        return None, None, None

    lines = []
    one, naive, lean = pair("intake", 32, 0)
    if one and naive and lean:
        x_naive = one["requests_per_second"] / naive["requests_per_second"]
        of_lean = one["requests_per_second"] / lean["requests_per_second"]
        lines.append(f"- ≥ 2× naive at c32: **{x_naive:.2f}×** — {'met' if x_naive >= 2 else 'missed'}")
        lines.append(f"- ≥ 40 % of lean at c32: **{of_lean:.0%}** — {'met' if of_lean >= 0.4 else 'missed'}")
        lines.append(f"- p99 ≤ 50 ms at c32: **{one['p99_ms']:.0f} ms** — {'met' if one['p99_ms'] <= 50 else 'missed'}")
        sizes = sorted({r["open_initiatives"] for r in rows if r["target"] == "intake"})
        for size in sizes[1:]:
            big = pair("intake", 32, size)[0]
            if big:
                change = big["requests_per_second"] / one["requests_per_second"] - 1
                lines.append(f"- within 15 % at {size:,} open (c32): throughput **{change:+.0%}** against the empty "
                             f"table — {'met' if change >= -0.15 else 'missed'}")  # fmt: skip
        two = pair("intake x2", 32, 0)[0]
        if two:
            gain = two["requests_per_second"] / one["requests_per_second"]
            lines.append(f"- two processes ≥ 1.6× one (c32): **{gain:.2f}×** — {'met' if gain >= 1.6 else 'missed'}")
    return lines


def _b2_lines(rows: list[dict[str, Any]], before: list[dict[str, Any]]) -> list[str]:
    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value:.0f} ms"

    lines = ["| rate | sent | 201 | alerts | 201 → alert p50 | p99 | first 5 s p50 | last 5 s p50 | HTTP p99 "
             "| held | before (p50, p99, held) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]  # fmt: skip
    for r in rows:
        was = next((b for b in before if b["rate"] == r["rate"]), None)
        earlier = f"{ms(was['p50_ms'])}, {ms(was['p99_ms'])}, {'yes' if was['held'] else 'no'}" if was else "—"
        lines.append(f"| {r['rate']}/s × {r['seconds']:g} s | {r['sent']:,} | {r['created']:,} | {r['emails']:,} "
                     f"| {ms(r['p50_ms'])} | {ms(r['p99_ms'])} | {ms(r['first_p50_ms'])} | {ms(r['last_p50_ms'])} "
                     f"| {ms(r['http_p99_ms'])} | {'yes' if r['held'] else '**no**'} | {earlier} |")  # fmt: skip
    held = [r["rate"] for r in rows if r["held"]]
    at_100 = next((r for r in rows if r["rate"] == 100), None)
    at_200 = next((r for r in rows if r["rate"] == 200), None)
    lines += ["", f"Highest rate held: **{max(held) if held else 'none'}{'/s' if held else ''}**.", "",
              "Goals (issue 12):", ""]  # fmt: skip
    if at_100 and at_100["p99_ms"] is not None:
        met = at_100["p99_ms"] <= 250 and at_100["held"]
        lines.append(f"- p99 ≤ 250 ms at 100/s: **{at_100['p99_ms']:.0f} ms** — {'met' if met else 'missed'}")
    if at_200:
        lines.append(f"- 200/s held for {at_200['seconds']:g} s: **{'yes' if at_200['held'] else 'no'}** — "
                     f"{'met' if at_200['held'] and at_200['seconds'] >= 30 else 'missed'}")  # fmt: skip
    return lines


def _b3_lines(b3: dict[str, Any]) -> list[str]:
    lines = ["| pool | initiatives | p50 | p95 | p99 | max | coverage | rule breaks |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in b3["per_proposal"]:
        lines.append(f"| {r['pool']:,} | {r['kind']} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['p99']:.1f} ms "
                     f"| {r['max']:.1f} ms | {r['coverage_exact']:.1%} | {r['broken']} |")  # fmt: skip
    b = b3["batch"]
    lines += ["", f"Batch: {b['count']:,} initiatives formed together on {b['pool']:,} people in {b['seconds']:.1f} s "
              f"({1000 * b['seconds'] / b['count']:.1f} ms each), {b['formed']:,} formed, {b['over']} booked beyond "
              f"capacity (the batch is bounded to keep make bench within its 10 minutes; 1,000 on 100,000 took "
              f"130 s)."]  # fmt: skip
    return lines


def _profiles(now: dict[str, dict[str, float]], before: dict[str, dict[str, float]]) -> list[str]:
    if not now and not before:
        return []
    labels = [label for label, _ in PROFILE_NEEDLES]
    runs = [(f"before {k}", v) for k, v in before.items()] + [(f"now {k}", v) for k, v in now.items()]
    lines = ["| share of intake's CPU samples (py-spy, c32) | " + " | ".join(name for name, _ in runs) + " |",
             "|---|" + "---:|" * len(runs)]  # fmt: skip
    for label in labels:
        lines.append(f"| {label} | " + " | ".join(f"{shares.get(label, 0):.0%}" for _, shares in runs) + " |")
    return lines


def _plots(rows: list[dict[str, Any]], folder: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ["(matplotlib is not installed: no plots)"]
    sizes = sorted({r["open_initiatives"] for r in rows})
    first = sizes[0] if sizes else 0
    figure, (throughput, p99) = plt.subplots(1, 2, figsize=(11, 4))
    for target in ("naive", "lean", "intake", "intake x2"):
        points = sorted({r["connections"]: r for r in rows if r["target"] == target and r["open_initiatives"] == first}
                        .items())  # fmt: skip
        if points:
            throughput.plot([c for c, _ in points], [r["requests_per_second"] for _, r in points], "o-", label=target)
            p99.plot([c for c, _ in points], [r["p99_ms"] for _, r in points], "o-", label=target)
    throughput.set(title="B1 throughput (empty table)", xlabel="connections", ylabel="201 per second")
    p99.set(title="B1 p99 latency", xlabel="connections", ylabel="ms", yscale="log")
    throughput.legend()
    figure.tight_layout()
    figure.savefig(folder / "b1_concurrency.png", dpi=100)
    figure, axes = plt.subplots(figsize=(6, 4))
    for target in ("naive", "lean", "intake"):
        points = sorted({r["open_initiatives"]: r for r in rows if r["target"] == target and r["connections"] == 32}
                        .items())  # fmt: skip
        if points:
            axes.plot([s for s, _ in points], [r["requests_per_second"] for _, r in points], "o-", label=target)
    axes.set(title="B1 throughput against table size (c32)", xlabel="open initiatives", ylabel="201 per second")
    axes.set_xscale("symlog", linthresh=1000)
    axes.legend()
    figure.tight_layout()
    figure.savefig(folder / "b1_table_size.png", dpi=100)
    plt.close("all")
    return ["![B1 throughput and p99 against connections](b1_concurrency.png)",
            "![B1 throughput against table size](b1_table_size.png)"]  # fmt: skip


def write(results: dict[str, Any], output: Path) -> None:
    meta = results["meta"]
    before = json.loads(BEFORE.read_text()) if BEFORE.exists() else {}
    lines = [
        "# Benchmark results (`make bench`)",
        "",
        f"Commit `{meta['commit']}`, {meta['when']}; {meta['machine']}; wrk runs of {meta['seconds']:g} s, two wrk "
        f"threads on the same machine. The run took {meta.get('total_seconds', '?')} s.",
        "",
        "Figures from a shared 2-core machine are noisy: compare the ratios against the baselines measured in the "
        "same run, right before each intake run, rather than the absolute numbers.",
    ]
    if before:
        lines += ["", f"\"before\" is the same benchmark on commit `{before['meta']['commit']}` "
                  f"({before['meta']['when']}), before duplicate detection left the request path."]  # fmt: skip
    if "b1" in results:
        lines += ["", "## B1 intake: the portal's submission", ""]
        lines += _b1_table(results["b1"], before.get("b1", []))
        lines += ["", "Goals (issue 12):", "", *_goals(results["b1"])]
        profile = _profiles(results.get("b1_profiles", {}), before.get("b1_profiles", {}))
        if profile:
            lines += ["", "### Where intake's CPU goes", "", *profile]
        lines += ["", *_plots(results["b1"], output.parent)]
    if "b2" in results:
        lines += [
            "",
            "## B2 end to end: a submission's 201 → the coordinator's alert at an SMTP sink",
            "",
            "Open-loop load (submissions sent on a fixed schedule, not waiting for answers) against intake; "
            "notifications (one process) consumes, sends over SMTP to an aiosmtpd sink in its own process. "
            "Held: every submission got its 201 and its alert, and the last 5 s' p50 stayed within 2× + 50 ms of "
            "the first 5 s' and under 1 s.",
            "",
        ]
        lines += _b2_lines(results["b2"], before.get("b2", []))
        for name, shares in results.get("b2_profiles", {}).items():
            lines += ["", f"Where notifications' CPU goes ({name}, py-spy, inclusive shares):", "",
                      "| part | share |", "|---|---:|"]  # fmt: skip
            lines += [f"| {label} | {share:.0%} |" for label, share in shares.items()]
    if "b3" in results:
        lines += ["", "## B3 matching: per proposal and a batch (solver only, in memory)", ""]
        lines += _b3_lines(results["b3"])
    if "b3s" in results:
        r = results["b3s"]
        lines += ["", "## B3 in the service (matching as a process, PostgreSQL, Kafka)", "",
                  "| what | figure | goal |", "|---|---:|---|",
                  f"| the pool: {r['pool']:,} ResourceRegistered applied from the topic "
                  f"| {r['events_per_second']:,.0f} events/s ({r['replay_seconds']:.1f} s) | |",
                  f"| B3: one acceptance alone → its proposal stored | {r['one_seconds'] * 1000:.0f} ms | |",
                  f"| B3: {r['together']} acceptances at once → the last proposal (or reason) stored "
                  f"| {r['together_seconds']:.2f} s | ≤ 1 s |",
                  f"| of those, with a group proposed / people booked beyond capacity | {r['proposed'] - 1} / "
                  f"{r['beyond_capacity']} | 0 beyond |"]  # fmt: skip
    if "b4" in results:
        r = results["b4"]
        was = before.get("b4") or before.get("b3s") or {}
        lines += ["", "## B4 replay: matching's projections rebuilt from the resources topic (new group)", "",
                  "| what | figure | before | goal |", "|---|---:|---:|---|",
                  f"| {r['events']:,} resource events (registered / updated / withdrawn) "
                  f"| {r['events_per_second']:,.0f} events/s ({r['replay_seconds']:.1f} s"
                  f"{_stopped_early(r)}) "
                  f"| {_rate(was)} | ≥ 5,000 events/s |"]  # fmt: skip
    if "b2n" in results:
        r = results["b2n"]
        cpu = r["cpu_ms_per_email"]
        stopped = f"; stopped at the cap with {r['sent']:,} sent" if r["capped"] else ""
        lines += ["", "## B2n: one notifications process, the emails of submissions already on the topic", "",
                  "| what | figure | goal |", "|---|---:|---|",
                  f"| {r['target']:,} emails of {r['events']:,} InitiativeSubmitted to the SMTP sink "
                  f"| {r['emails_per_second']:,.0f} emails/s ({r['seconds']:.1f} s{stopped}) | ≥ 200 emails/s |",
                  f"| notifications's CPU an email | {'—' if cpu is None else f'{cpu:.1f} ms'} | ≤ 4 ms |"]  # fmt: skip
    output.write_text("\n".join(lines) + "\n")


def _rate(before: dict[str, Any]) -> str:
    """The earlier run's replay rate, or a dash when the "before" run did not measure it."""
    return f"{before['events_per_second']:,.0f} events/s" if "events_per_second" in before else "—"


def _stopped_early(b4: dict[str, Any]) -> str:
    """A replay stopped at its time cap: how many events it had applied (the rate is over those)."""
    return f"; stopped at the cap with {b4['applied']:,} applied" if b4.get("capped") else ""
