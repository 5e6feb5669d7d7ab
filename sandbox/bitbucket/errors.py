"""Bitbucket's standardized error envelope: ``{"type": "error", "error": {"message": ...}}``."""

from __future__ import annotations

from typing import Any

# Message texts observed on the real service (see the project's Bitbucket facts).
INVALID_TOKEN = "Token is invalid, expired, or not supported for this endpoint."
MISSING_SCOPE = "Your credentials lack one or more required privilege scopes."
NOT_FOUND = "Not found"


class BitbucketError(Exception):
    """Raised anywhere in a request; rendered as the error envelope with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        detail: str | dict[str, Any] | None = None,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.fields = fields
        self.headers = headers or {}

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if self.fields:
            error["fields"] = self.fields
        if self.detail is not None:
            error["detail"] = self.detail
        return {"type": "error", "error": error}


def not_found(what: str | None = None) -> BitbucketError:
    return BitbucketError(404, NOT_FOUND if what is None else f"{what} not found")


def bad_request(detail: str, fields: dict[str, list[str]] | None = None) -> BitbucketError:
    return BitbucketError(400, "Bad request", detail=detail, fields=fields)


def field_error(field: str, problem: str) -> BitbucketError:
    return BitbucketError(400, "Bad request", fields={field: [problem]}, detail=f"{field}: {problem}")
