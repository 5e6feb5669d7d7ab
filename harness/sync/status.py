"""``harness sync status``: every entity, its last synced commit, and its error marked clearly."""

from __future__ import annotations

from harness.sync.store import Connection, Record

ERROR_MARK = "⚠ ERROR"


def state(record: Record) -> str:
    error = record.git_integration
    if error:
        return f"{ERROR_MARK} {error['code']} ({error['status']}): {error['message']}"
    if record.files is None:
        return "no valid content"
    return "pending push" if record.pending else "synced"


def status_lines(connection: Connection | None, records: list[Record]) -> list[str]:
    if connection is None:
        head = "not connected (harness sync connect --repo WORKSPACE/REPO)"
    else:
        hook = (
            f"; push webhook {connection.webhook_uuid} -> {connection.webhook_url}" if connection.webhook_uuid else ""
        )
        head = f"{connection.repository} @ {connection.branch}{hook}"
    if not records:
        return [head, "no entities (harness sync import reads the project's)"]
    width = max(len(r.slug) for r in records)
    lines = [head, f"{'KIND':<11} {'SLUG':<{width}} {'COMMIT':<12}  STATE"]
    for r in records:
        lines.append(f"{r.kind:<11} {r.slug:<{width}} {(r.last_commit or '-')[:12]:<12}  {state(r)}")
    errors = sum(1 for r in records if r.git_integration)
    pending = sum(1 for r in records if r.pending and not r.git_integration)
    synced = len(records) - errors - pending
    lines.append(f"{len(records)} entities: {synced} synced, {pending} pending push, {errors} with errors")
    return lines
