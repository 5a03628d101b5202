"""Tables to take away: rows as CSV or XLSX, with the filters of the page they came from.

Spreadsheet programs run a cell that starts with = + - or @ as a formula, so
text cells that start with one are written with a leading apostrophe; numbers
stay numbers. Times are for people: UK local time (Europe/London) to the second,
as date-time cells in XLSX; a column of them says "(UK time)" in its heading.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from flask import Response
from openpyxl import Workbook

from .timeutil import LONDON

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def openapi_files(json_schema: type) -> dict:
    """For flask-smorest's @blp.doc(**openapi_files(Schema)) above @blp.response: the 200
    answer is JSON, or with format=csv or xlsx a file."""
    content = {
        "application/json": {"schema": json_schema},
        "text/csv": {"schema": {"type": "string"}},
        MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    }
    return {"responses": {"200": {"description": "OK", "content": content}}}


Columns = Sequence[tuple[str, str]]  # (key in each row, heading)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(LONDON).replace(tzinfo=None, microsecond=0)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _lines(columns: Columns, rows: Iterable[Mapping[str, Any]]) -> Iterable[list[Any]]:
    yield [heading for _, heading in columns]
    for row in rows:
        yield [_cell(row.get(key)) for key, _ in columns]


def as_csv(columns: Columns, rows: Iterable[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for line in _lines(columns, rows):
        writer.writerow(line)
    return out.getvalue().encode("utf-8")


def as_xlsx(columns: Columns, rows: Iterable[Mapping[str, Any]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for line in _lines(columns, rows):
        sheet.append(line)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(columns: Columns, rows: Iterable[Mapping[str, Any]], format: str, name: str) -> Response:
    """A response that saves as `<name>.<format>`."""
    body = as_csv(columns, rows) if format == "csv" else as_xlsx(columns, rows, name)
    return Response(
        body,
        content_type=MEDIA_TYPES[format],  # as it is: `mimetype` would add a second charset
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )
