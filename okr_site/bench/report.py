"""The benchmark's results: each measured thing against its target, as a table, and
saved as JSON so that another tier's run can be compared (query counts must match)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from okr_site.bench.cases import Kind

PAGE_RATIO, JSON_RATIO = 15, 5
PAGE_P95 = 0.200
SUBMIT_P95 = 0.100
ROLLUP_WRITES = 0.250
FANOUT_SECONDS = 30.0

TARGETS = {
    Kind.OVERHEAD: "",
    Kind.PAGE: f"≤{PAGE_RATIO}× floor, p95 ≤{PAGE_P95 * 1000:.0f} ms",
    Kind.JSON: f"≤{JSON_RATIO}× floor",
    Kind.SUBMIT: f"p95 ≤{SUBMIT_P95 * 1000:.0f} ms",
    Kind.ROLLUP: f"median ≤{ROLLUP_WRITES * 1000:.0f} ms",
    Kind.FANOUT: f"median ≤{FANOUT_SECONDS:.0f} s",
}


@dataclass
class Result:
    name: str
    kind: str
    median: float
    p95: float
    spread: float
    queries: int
    floor: float | None = None  # the floor's median
    kilobytes: float | None = None  # the response's size

    @property
    def ratio(self) -> float | None:
        return self.median / self.floor if self.floor else None

    @property
    def met(self) -> bool | None:
        kind = Kind(self.kind)
        if kind is Kind.PAGE:
            return self.ratio <= PAGE_RATIO and self.p95 <= PAGE_P95
        if kind is Kind.JSON:
            return self.ratio <= JSON_RATIO
        if kind is Kind.SUBMIT:
            return self.p95 <= SUBMIT_P95
        if kind is Kind.ROLLUP:
            return self.median <= ROLLUP_WRITES
        if kind is Kind.FANOUT:
            return self.median <= FANOUT_SECONDS
        return None


def save(results: list[Result], path: Path, label: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"label": label, "results": [asdict(r) for r in results]}))


def load(path: Path) -> tuple[str, dict[str, Result]]:
    data = json.loads(path.read_text())
    return data["label"], {row["name"]: Result(**row) for row in data["results"]}


def _duration(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 10 else f"{seconds * 1000:.1f} ms"


def table(results: list[Result], label: str, other: tuple[str, dict[str, Result]] | None) -> str:
    """One row per measured thing; with ``other`` (a smaller tier's results) its query
    count beside this one's, and a page or list marked where they differ (a submit
    climbs one more level per level of the cascade, a job works in batches)."""
    other_label, others = other if other else ("", {})
    columns = (
        f"{'measured':<36} {'median':>9} {'p95':>9} {'spread':>6} {'queries':>7}"
        + (f" {'at ' + other_label:>6}" if other else "")
        + f" {'KB':>6} {'floor':>9} {'ratio':>6}  {'target':<26} result"
    )
    lines = [f"Tier {label}", columns, "-" * len(columns)]
    for result in results:
        before = others.get(result.name)
        same = (
            before is None
            or before.queries == result.queries
            or Kind(result.kind) not in {Kind.PAGE, Kind.JSON}
        )
        lines.append(
            f"{result.name:<36} {_duration(result.median):>9} {_duration(result.p95):>9} "
            f"{result.spread:>6.0%} {result.queries:>7}"
            + (f" {before.queries if before else '–':>6}" if other else "")
            + f" {result.kilobytes if result.kilobytes is not None else '':>6}"
            f" {_duration(result.floor) if result.floor else '':>9}"
            f" {f'{result.ratio:.1f}×' if result.ratio else '':>6}"
            f"  {TARGETS[Kind(result.kind)]:<26} "
            + {True: "met", False: "MISSED", None: ""}[result.met]
            + ("" if same else f"  QUERIES DIFFER FROM {other_label}")
        )
    return "\n".join(lines)
