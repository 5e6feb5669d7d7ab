"""What a handler sees of one request: the world, the caller, parsed input and paging helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from sandbox.bitbucket import bbql
from sandbox.bitbucket.auth import Credential
from sandbox.bitbucket.errors import BitbucketError, bad_request
from sandbox.bitbucket.operations import Operation
from sandbox.bitbucket.render import Renderer
from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.world import World

J = dict[str, Any]


@dataclass
class Ctx:
    world: World
    cred: Credential
    op: Operation
    r: Renderer
    path_params: dict[str, Any]
    query: QueryParams
    url_path: str
    body: Any = None  # parsed JSON, when the request carried JSON
    form: list[tuple[str, str | bytes]] | None = None  # form or multipart fields, in order
    _users: dict[str, Doc] | None = field(default=None, repr=False)

    def param(self, name: str) -> str:
        return str(self.path_params[name]).replace("\ue000", "/")  # see app.keep_encoded_slashes

    @property
    def users(self) -> dict[str, Doc]:
        if self._users is None:
            self._users = {u["username"]: u for u in self.world.store.all("user")}
        return self._users

    @property
    def me(self) -> Doc | None:
        return self.world.principal_user(self.cred)

    def actor(self) -> J:
        """The caller as an account object (pseudo-users for access tokens and service accounts)."""
        user = self.me
        if user is not None:
            return self.r.user(user) or {}
        p = self.cred.principal
        return self.r.pseudo_user(p.uuid, p.display_name) if p else {}

    def fields(self, clearable: tuple[str, ...] = ()) -> J:
        """A flat body: JSON object, or form fields (Bitbucket accepts both for flat bodies).

        An optional field sent as ``null`` counts as absent, at any depth, as on Bitbucket (clients send
        ``"description": null`` for "no description"); ``clearable`` names the top-level fields where ``null``
        means "clear it" instead (PUT on an issue with ``"assignee": null``) and is kept.
        """
        if self.body is not None:
            if not isinstance(self.body, dict):
                raise bad_request("The request body must be a JSON object.")
            _require_unicode(self.body)
            return {k: _without_nulls(v) for k, v in self.body.items() if v is not None or k in clearable}
        if self.form is not None:
            return {k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v for k, v in self.form}
        return {}

    def page(
        self,
        values: Sequence[Any],
        default_pagelen: int = 10,
        filterable: bool = True,
        render: Callable[[Any], J] | None = None,
    ) -> J:
        """Filter (``q``), sort and cut one page, with absolute ``next``/``previous`` links.

        With ``render``, ``values`` are records and only the page's records are rendered, so a page costs the
        same whatever the size of the list; a ``q`` or ``sort`` reads rendered fields, so it renders them all.
        """
        if render is not None and filterable and (self.query.get("q") or self.query.get("sort")):
            values, render = [render(v) for v in values], None
        if filterable and render is None:
            try:
                values = list(bbql.filter_objects(values, self.query.get("q")))
                values = bbql.sort_objects(values, self.query.get("sort"))
            except bbql.BBQLError as exc:
                raise BitbucketError(
                    400,
                    "Invalid query",
                    detail=exc.detail,
                    fields={"q" if "sort" not in exc.detail else "sort": [exc.detail]},
                ) from None
        pagelen = self._int("pagelen", default_pagelen, 1, 100)
        page = self._int("page", 1, 1, 10**6)
        start = (page - 1) * pagelen
        cut = values[start : start + pagelen]
        out: J = {
            "pagelen": pagelen,
            "size": len(values),
            "page": page,
            "values": [render(v) for v in cut] if render is not None else list(cut),
        }
        if start + pagelen < len(values):
            out["next"] = self._page_url(page + 1)
        if page > 1:
            out["previous"] = self._page_url(page - 1)
        return out

    def _int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BitbucketError(400, f"Invalid {name}", fields={name: ["A whole number is required."]}) from None
        if not low <= value <= high:
            raise BitbucketError(400, f"Invalid {name}", fields={name: [f"Must be between {low} and {high}."]})
        return value

    def _page_url(self, page: int) -> str:
        items = [(k, v) for k, v in self.query.multi_items() if k != "page"] + [("page", str(page))]
        return f"{self.r.base}{self.url_path}?{urlencode(items)}"


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _require_unicode(body: J) -> None:
    """JSON may escape a lone surrogate ("\\ud800"): it parses, but can be neither stored in git nor sent back."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("Malformed JSON body: a string holds a lone UTF-16 surrogate.") from None
