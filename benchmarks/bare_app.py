"""The ceiling of the HTTP stack: a Flask endpoint that parses a JSON body and answers 201.

Served by the same gunicorn command as every service (ccshared.runner.gunicorn_command),
so the referral benchmark's ratio shows what the contacts service costs above it.
"""

from __future__ import annotations

import uuid

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/api/v1/referrals")
    def accept():  # noqa: ANN202 - a Flask view
        body = request.get_json()
        response = jsonify({"id": str(uuid.uuid4()), "fields": len(body)})
        response.status_code = 201
        return response

    return app
