"""The pages, one blueprint per part of the site."""

from __future__ import annotations

from flask import current_app

from ..backends import Backends


def backends() -> Backends:
    return current_app.extensions["frontend"].backends


def context():  # noqa: ANN201 - frontend.app.Context (import cycle)
    return current_app.extensions["frontend"]
