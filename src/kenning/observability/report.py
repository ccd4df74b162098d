"""The business-impact report of one tenant over a window: JSON, Markdown or HTML.

Every number is computed from the recorded answers (and their feedback and
conversations) whose ``created_at`` falls in the window; the JSON shape is the contract
the web UI reads (docs/observability.md lists each field and its formula):

- deflected: answered (not abstained), its conversation not escalated, not rated down;
  ``deflection_rate = deflected / questions``.
- escalations: answers whose conversation was handed to a human.
- cost: the sum of each answer's cost, priced when it was given;
  ``cost_per_answer = cost_total / questions``.
- ``minutes_saved = deflected × observability.minutes_per_deflection``.
- latency percentiles: linear interpolation between the closest ranks (numpy's default).
"""

from __future__ import annotations

import base64
import html
import math
import re
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kenning.db.engine import SqlDatabase
from kenning.errors import ConfigurationError, InvalidInputError
from kenning.settings import ObservabilitySettings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_WINDOW_DAYS = 366


def parse_duration(text: str) -> float:
    """Seconds in ``"90m"``, ``"24h"``, ``"7d"`` or ``"2w"``."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidInputError(f"not a duration: {text!r} (use e.g. 24h, 7d, 4w)")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 0 < seconds <= MAX_WINDOW_DAYS * 86400:
        raise InvalidInputError(f"the window must be between 1 minute and {MAX_WINDOW_DAYS} days")
    return seconds


@dataclass(frozen=True, slots=True)
class _Row:
    created_at: float
    mode: str
    groundedness: float
    latency_ms: float
    tokens_in: int
    tokens_out: int
    cost: float
    escalated: bool
    up: int
    down: int
    comments: int

    @property
    def answered(self) -> bool:
        return self.mode != "abstained"

    @property
    def deflected(self) -> bool:
        return self.answered and not self.escalated and self.down == 0


_QUERY = """
SELECT a.created_at, a.mode, a.groundedness, a.latency_ms, a.tokens_in, a.tokens_out, a.cost,
       CASE WHEN c.escalated_at IS NULL THEN 0 ELSE 1 END,
       (SELECT count(*) FROM feedback f WHERE f.answer_id = a.id AND f.rating = 1),
       (SELECT count(*) FROM feedback f WHERE f.answer_id = a.id AND f.rating = -1),
       (SELECT count(*) FROM feedback f WHERE f.answer_id = a.id AND f.comment <> '')
FROM answers a LEFT JOIN conversations c ON c.id = a.conversation_id
WHERE a.tenant = ? AND a.created_at >= ? AND a.created_at <= ?
ORDER BY a.created_at
"""


def build_report(
    db: SqlDatabase,
    tenant: str,
    settings: ObservabilitySettings,
    *,
    window_s: float,
    until: float | None = None,
) -> dict[str, Any]:
    """The report of ``tenant`` over the ``window_s`` seconds up to ``until`` (now)."""
    until = time.time() if until is None else until
    since = until - window_s
    rows = [
        _Row(r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), float(r[6]), bool(r[7]), *r[8:])
        for r in db.fetchall(_QUERY, (tenant, since, until))
    ]
    report: dict[str, Any] = {"tenant": tenant, "since": since, "until": until}
    report.update(_summary(rows, settings))
    report["currency"] = settings.currency
    by_day: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        by_day[datetime.fromtimestamp(row.created_at, UTC).strftime("%Y-%m-%d")].append(row)
    report["daily"] = [_day(day, day_rows) for day, day_rows in sorted(by_day.items())]
    return report


def _summary(rows: Sequence[_Row], settings: ObservabilitySettings) -> dict[str, Any]:
    questions = len(rows)
    answered = [r for r in rows if r.answered]
    deflected = sum(r.deflected for r in rows)
    up, down = sum(r.up for r in rows), sum(r.down for r in rows)
    cost = math.fsum(r.cost for r in rows)
    latencies = [r.latency_ms for r in rows]
    return {
        "questions": questions,
        "answered": len(answered),
        "abstained": questions - len(answered),
        "extractive": sum(r.mode == "extractive" for r in rows),
        "llm": sum(r.mode == "llm" for r in rows),
        "escalations": sum(r.escalated for r in rows),
        "deflected": deflected,
        "deflection_rate": _ratio(deflected, questions),
        "feedback": {"up": up, "down": down, "comments": sum(r.comments for r in rows)},
        "negative_feedback_rate": _ratio(down, up + down),
        "groundedness_mean": _mean([r.groundedness for r in answered]),
        "latency_ms_p50": _percentile(latencies, 50),
        "latency_ms_p95": _percentile(latencies, 95),
        "tokens_in": sum(r.tokens_in for r in rows),
        "tokens_out": sum(r.tokens_out for r in rows),
        "cost_total": cost,
        "cost_per_answer": cost / questions if questions else None,
        "minutes_saved": deflected * settings.minutes_per_deflection,
    }


def _day(day: str, rows: Sequence[_Row]) -> dict[str, Any]:
    up, down = sum(r.up for r in rows), sum(r.down for r in rows)
    return {
        "day": day,
        "questions": len(rows),
        "deflection_rate": _ratio(sum(r.deflected for r in rows), len(rows)),
        "groundedness_mean": _mean([r.groundedness for r in rows if r.answered]),
        "latency_ms_p50": _percentile([r.latency_ms for r in rows], 50),
        "cost": math.fsum(r.cost for r in rows),
        "negative_feedback_rate": _ratio(down, up + down),
        "abstention_rate": _ratio(sum(not r.answered for r in rows), len(rows)),
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return round(math.fsum(values) / len(values), 4) if values else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


# -- rendering ---------------------------------------------------------------------------

def _fmt(value: float | None, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


def summary_lines(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for the summary table, in reading order."""
    r, fb = report, report["feedback"]
    cost = _fmt(r["cost_per_answer"], "{:.5f}")
    return [
        ("Questions", str(r["questions"])),
        ("Answered / abstained", f"{r['answered']} / {r['abstained']}"),
        ("Extractive / LLM answers", f"{r['extractive']} / {r['llm']}"),
        ("Escalated to a human", str(r["escalations"])),
        ("Resolved without escalation (deflected)", str(r["deflected"])),
        ("Deflection rate", _fmt(r["deflection_rate"], "{:.1%}")),
        ("Feedback up / down / comments", f"{fb['up']} / {fb['down']} / {fb['comments']}"),
        ("Negative-feedback rate", _fmt(r["negative_feedback_rate"], "{:.1%}")),
        ("Mean groundedness", _fmt(r["groundedness_mean"], "{:.2f}")),
        ("Median latency", _fmt(r["latency_ms_p50"], "{:.0f} ms")),
        ("95th-percentile latency", _fmt(r["latency_ms_p95"], "{:.0f} ms")),
        ("Tokens in / out", f"{r['tokens_in']} / {r['tokens_out']}"),
        ("Cost per answer", f"{cost} {r['currency']} (total {r['cost_total']:.4f})"),
        ("Estimated agent time saved", _fmt(r["minutes_saved"], "{:.0f} min")),
    ]


def _period(report: Mapping[str, Any]) -> str:
    fmt = "%Y-%m-%d %H:%M UTC"
    start = datetime.fromtimestamp(report["since"], UTC).strftime(fmt)
    end = datetime.fromtimestamp(report["until"], UTC).strftime(fmt)
    return f"{start} – {end}"


_DAILY_COLUMNS = (
    ("day", "{}"),
    ("questions", "{}"),
    ("deflection_rate", "{:.1%}"),
    ("abstention_rate", "{:.1%}"),
    ("negative_feedback_rate", "{:.1%}"),
    ("groundedness_mean", "{:.2f}"),
    ("latency_ms_p50", "{:.0f}"),
    ("cost", "{:.4f}"),
)


def _daily_cells(day: Mapping[str, Any]) -> list[str]:
    return [_fmt(day[k], fmt) for k, fmt in _DAILY_COLUMNS]


def to_markdown(report: Mapping[str, Any], charts: Sequence[str] = ()) -> str:
    """The report as Markdown; ``charts`` are image paths to link under the tables."""
    out = [f"# Kenning report: {report['tenant']}", "", _period(report), ""]
    out += ["| measure | value |", "|---|---|"]
    out += [f"| {label} | {value} |" for label, value in summary_lines(report)]
    if report["daily"]:
        out += ["", "## By day", ""]
        out.append("| " + " | ".join(k for k, _ in _DAILY_COLUMNS) + " |")
        out.append("|" + "---|" * len(_DAILY_COLUMNS))
        out += ["| " + " | ".join(_daily_cells(d)) + " |" for d in report["daily"]]
    for chart in charts:
        out += ["", f"![{chart}]({chart})"]
    return "\n".join(out) + "\n"


def to_html(report: Mapping[str, Any], charts: Mapping[str, bytes]) -> str:
    """A self-contained HTML page: the tables, and the charts inline as PNG data URIs."""
    esc = html.escape
    rows = "".join(
        f"<tr><th>{esc(label)}</th><td>{esc(value)}</td></tr>"
        for label, value in summary_lines(report)
    )
    daily = ""
    if report["daily"]:
        head = "".join(f"<th>{esc(k)}</th>" for k, _ in _DAILY_COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in _daily_cells(d)) + "</tr>"
            for d in report["daily"]
        )
        daily = f"<h2>By day</h2><table><tr>{head}</tr>{body}</table>"
    images = "".join(
        f'<figure><img alt="{esc(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"><figcaption>{esc(name)}</figcaption></figure>'
        for name, png in charts.items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Kenning report: {esc(report['tenant'])}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem;"
        "text-align:left}</style></head><body>"
        f"<h1>Kenning report: {esc(report['tenant'])}</h1><p>{esc(_period(report))}</p>"
        f"<table>{rows}</table>{daily}{images}</body></html>"
    )


def charts(report: Mapping[str, Any]) -> dict[str, bytes]:
    """PNG charts of the daily series (empty without daily data); needs matplotlib."""
    days = report["daily"]
    if not days:
        return {}
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigurationError(
            "report charts need matplotlib: pip install 'kenning[report]'"
        ) from exc
    labels = [d["day"][5:] for d in days]
    out: dict[str, bytes] = {}
    for name, keys, ylabel in (
        ("questions.png", ("questions",), "questions"),
        ("rates.png", ("deflection_rate", "abstention_rate", "negative_feedback_rate"), "share"),
        ("latency.png", ("latency_ms_p50",), "median latency (ms)"),
        ("cost.png", ("cost",), f"cost ({report['currency']})"),
    ):
        fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
        for key in keys:
            values = [math.nan if d[key] is None else d[key] for d in days]
            if len(keys) == 1 and key in ("questions", "cost"):
                ax.bar(labels, values, label=key)
            else:
                ax.plot(labels, values, marker="o", label=key)
        ax.set_ylabel(ylabel)
        if len(keys) > 1:
            ax.legend(fontsize="small")
        fig.tight_layout()
        out[name] = _png(fig)
        plt.close(fig)
    return out


def _png(fig: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
