"""Writes each benchmark's figures into its own marked section of docs/benchmarks.md.

Only the sections of the benchmarks that ran are replaced, so `--only NAME`
updates one section and keeps the others; text outside the markers (how to read
the figures, the bottlenecks fixed) is written by hand and left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .common import REPO_ROOT, Report, format_number, format_ratio

DEFAULT_PATH = REPO_ROOT / "docs" / "benchmarks.md"
RESULTS_END = "<!-- bench:results-end -->"
SKELETON = f"""# Benchmarks

Run with `make bench` (or `.venv/bin/python -m benchmarks [--only NAME] [--quick]`).

## Results

{RESULTS_END}
"""


def start_marker(name: str) -> str:
    return f"<!-- bench:{name}:start -->"


def end_marker(name: str) -> str:
    return f"<!-- bench:{name}:end -->"


def write(path: Path, results: Sequence[Report], host: dict[str, str], quick: bool) -> None:
    text = path.read_text() if path.exists() else SKELETON
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for result in results:
        text = _replace(text, result.name, section(result, host, when, quick))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _replace(text: str, name: str, body: str) -> str:
    start, end = start_marker(name), end_marker(name)
    block = f"{start}\n{body}{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        return head + block + tail
    if RESULTS_END not in text:
        text = text.rstrip("\n") + f"\n\n{RESULTS_END}\n"
    return text.replace(RESULTS_END, f"{block}\n\n{RESULTS_END}")


def section(result: Report, host: dict[str, str], when: str, quick: bool) -> str:
    lines = [
        f"### {result.title}",
        "",
        f"Run {when}{' with --quick' if quick else ''} in {result.seconds:.0f} s on "
        + "; ".join(f"{key} {value}" for key, value in host.items())
        + ".",
        "",
        "Sizes: " + ", ".join(f"{key} {_value(value)}" for key, value in result.sizes.items()) + ".",
        "",
    ]
    if result.figures:
        lines += ["| figure | value | baseline (same run) | ratio |", "| --- | --- | --- | --- |"]
        for figure in result.figures:
            baseline = (
                f"{figure.baseline_name}: {format_number(figure.baseline)} {figure.unit}"
                if figure.baseline is not None
                else "-"
            )
            ratio = format_ratio(figure.ratio) if figure.ratio is not None else "-"
            lines.append(
                f"| {figure.name} | {format_number(figure.value)} {figure.unit} | {baseline} | {ratio} |"
            )
        lines.append("")
    lines += [f"- {note}" for note in result.notes]
    if result.notes:
        lines.append("")
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def figures_in(text: str) -> dict[str, dict[str, tuple[str, str]]]:
    """{benchmark: {figure: (value, ratio)}} from the tables of a report this module wrote."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for chunk in text.split("<!-- bench:")[1:]:
        name, _, rest = chunk.partition(":start -->")
        if not _:
            continue
        rows = found.setdefault(name, {})
        for line in rest.split(end_marker(name), 1)[0].splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) == 4 and cells[0] not in ("figure", "---"):
                rows[cells[0]] = (cells[1], cells[3])
    return found


def compare(old_text: str, results: Sequence[Report]) -> str:
    """A table of each figure's old (from an earlier report's text) and new value and ratio,
    side by side. The text is read before the run, which may overwrite its file."""
    old = figures_in(old_text)
    lines = [
        "| benchmark | figure | old | new | old ratio | new ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        before = old.get(result.name, {})
        for figure in result.figures:
            value, ratio = before.get(figure.name, ("-", "-"))
            new_ratio = format_ratio(figure.ratio) if figure.ratio is not None else "-"
            lines.append(
                f"| {result.name} | {figure.name} | {value} | {format_number(figure.value)} {figure.unit} "
                f"| {ratio} | {new_ratio} |"
            )
        shown = {figure.name for figure in result.figures}
        for name, (value, ratio) in before.items():
            if name not in shown:
                lines.append(f"| {result.name} | {name} | {value} | - | {ratio} | - |")
    return "\n".join(lines)
