"""Where the emulator knowingly answers differently from what the official OpenAPI document says, and why.

This is the one list. The code it concerns reads its constants from here, and the property test over the
document (tests/sandbox/bitbucket/test_openapi_property.py) runs every schemathesis check except exactly the
(check, operation) pairs named in ``DEVIATIONS``. A deviation that is not listed here is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

R = "/repositories/{workspace}/{repo_slug}"
PR = R + "/pullrequests"
SRC = R + "/src/{commit}/{path}"
ANY = "*"


@dataclass(frozen=True)
class Deviation:
    check: str  # the schemathesis check it exempts
    operations: tuple[str, ...]  # "METHOD /template" keys, or (ANY,)
    when: str  # which answers: one of WHEN
    reason: str

    def applies(self, operation: str, when: set[str]) -> bool:
        """Whether it exempts an answer of ``operation`` ("METHOD /template") meeting the conditions ``when``."""
        return (ANY in self.operations or operation in self.operations) and self.when in when


WHEN = {
    "always": "every answer of the operation",
    "negative body": "the generated request is invalid in its body only",
    "file answer": "GET .../src/{commit}/{path} answered a file (raw, format=meta or format=rendered)",
    "undocumented 4xx": "a 4xx the operation does not list; it must still be the error envelope",
    "redirect": "a 302 to the main branch's root listing",
    "after delete": "a probe sent after the request under test deleted the object",
    "public data": "an anonymous probe on an operation that serves public objects to anyone",
}


# ``GET .../pullrequests?state=open`` works as ``state=OPEN``: clients (and the Composio tool's description) send
# lower case, and Bitbucket Cloud takes either. Every other enum is compared exactly.
CASE_INSENSITIVE_ENUMS = frozenset({("get", PR, "state")})

# format=rendered: the document says the answer is the file "in HTML-formatted rendered markup" and speaks of
# "the raw element in the response object", without a schema. The emulator answers the same object every other
# rendered field has, ``{"raw", "markup", "html"}``; markdown files are rendered, the other listed types
# (.text, .rst, .textile) are escaped into <pre> (no renderer for them here).
RENDERED_EXTENSIONS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mkd": "markdown",
    ".mkdn": "markdown",
    ".mdown": "markdown",
    ".text": "plaintext",
    ".rst": "rst",
    ".textile": "textile",
}

DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "positive_data_acceptance",
        (ANY,),
        "always",
        "The document's request bodies reuse the response schemas (a pull request needs only `type`, an issue "
        "comment nothing) and its `q`/`sort` are free strings, so a request valid against it may lack what the "
        "operation needs (a title, a source branch, a file, BBQL syntax) or name what the world lacks (a slug that "
        "exists, a change request never made). Bitbucket answers those with 400 and an error naming the field, and "
        "so does the emulator.",
    ),
    Deviation(
        "negative_data_rejection",
        (ANY,),
        "negative body",
        "Like Bitbucket, an operation reads the fields it uses (checking their types and values) and ignores the "
        "rest: read-only fields copied from a response (`links`, `user`, `created_on`, a nested `repository`) are "
        "not validated, so a body whose only violation lies in one of them is accepted. Query and path parameters "
        "are held to the document on every operation (sandbox.bitbucket.validation).",
    ),
    Deviation(
        "status_code_conformance",
        (ANY,),
        "undocumented 4xx",
        "The document lists 400/401/404 for only some operations (GET .../issues/{issue_id}/comments lists 200 "
        "alone), yet Bitbucket Cloud answers bad input with 400, a missing object with 404, an anonymous caller "
        "with 401, a wrong body type with 415 and a body over the limit with 413 on every operation, always as "
        "the error envelope.",
    ),
    Deviation(
        "status_code_conformance",
        (f"GET {R}/src",),
        "redirect",
        "GET .../src: the description says it redirects to the root listing of the main branch's head; the "
        "responses list only 200.",
    ),
    *(
        Deviation(
            check,
            (f"GET {SRC}",),
            "file answer",
            "GET .../src/{commit}/{path} documents the directory listing as its only 200 body, yet its description "
            "has it answer a file with its raw bytes (Content-Type from the extension), format=meta with a "
            "commit_file and format=rendered with the rendered markup. Those answers are checked against their own "
            "shapes instead.",
        )
        for check in ("content_type_conformance", "response_schema_conformance")
    ),
    Deviation(
        "ignored_auth",
        (f"DELETE {R}",),
        "after delete",
        "The check probes without credentials after the request under test deleted the repository, so the probe "
        "meets 404 (nothing there any more) rather than 401.",
    ),
    Deviation(
        "ignored_auth",
        ("GET /repositories/{workspace}", "GET /snippets"),
        "public data",
        "Public repositories and snippets are readable by anyone on Bitbucket Cloud, so these lists answer an "
        "anonymous caller 200 with the public objects (none of the private ones), although the document's "
        "`security` names no anonymous access.",
    ),
)
