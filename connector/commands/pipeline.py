"""`healthscore sync|run|score|writeback`: the pipeline steps from the command line."""

from __future__ import annotations

import sys
from typing import Any

import click

from connector.commands.context import settings_from
from connector.commands.output import emit, fail
from connector.config import Settings
from connector.pipeline import run as pipeline
from connector.pipeline.sync import PAGE_PROGRESS
from connector.store import repo as store
from connector.store.db import transaction


def tenant_ids(settings: Settings, slug: str | None) -> list[tuple[int, str]]:
    """(id, slug) of the named tenant or of all tenants; exits with a hint when there are none."""
    with transaction(settings.sqlalchemy_url) as session:
        found = [(t.id, t.slug) for t in store.tenants(session, slug)]
    if not found:
        fail(
            f"no tenant {slug!r}" if slug else "no tenants yet",
            "run `healthscore demo` for a sandbox tenant, or connect a vendor in the web UI",
            code=2,
        )
    return found


SENTIMENT_NOTE = "  … sentiment: scoring messages (first pass: a minute or two)"


def _progress(step: str, report: dict[str, Any]) -> None:
    # "\r" + padding overwrite a page-progress line left on the terminal by the sync step.
    click.echo(f"\r  ✓ {step:<11} {_summary(step, report)}".ljust(62), err=True)
    if step == "link" and sys.stderr.isatty():
        # The sentiment step prints nothing until it ends: 1-2 minutes of silence on the demo's first pass
        # (report-readme.md). Its ✓ line overwrites this note ("\r", padded to 62).
        click.echo(SENTIMENT_NOTE, err=True, nl=False)


def _n(count: int, one: str, many: str) -> str:
    """'1 call', '2 calls': the step lines read '5 written, 0 rejected, 1 calls' before."""
    return f"{count} {one if count == 1 else many}"


def _summary(step: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"FAILED: {r['error']}"
    if "skipped" in r:
        return f"skipped ({r['skipped']})"
    if step == "sync":
        parts = [
            f"{i['vendor']}: {_n(sum(s['read'] for s in i['streams']), 'record', 'records')}, {_n(i['api_calls'], 'call', 'calls')} ({i['status']})"
            for i in r["installations"]
        ]
        return "; ".join(parts) or "no installations"
    if step == "link":
        return f"{r['tickets_linked']}/{r['tickets_total']} tickets linked, {_n(len(r['unmatched']), 'organization to review', 'organizations to review')}"
    if step == "sentiment":
        return f"{r['tickets_changed']} tickets, {r['model_calls']} messages scored, {r['cache_hits']} cached"
    if step == "score":
        bands = ", ".join(f"{n} {band}" for band, n in (r.get("by_band") or {}).items())
        return f"{_n(r['scored'], 'account', 'accounts')} ({bands}), {_n(r['band_changes'], 'band change', 'band changes')}, {_n(r['writes_queued'], 'write queued', 'writes queued')}"
    if step == "write_back":
        return (
            "; ".join(
                f"{v}: {x['written']} written, {x['rejected']} rejected, {_n(x['api_calls'], 'call', 'calls')}"
                for v, x in r.items()
                if isinstance(x, dict)
            )
            or "nothing to write"
        )
    if step == "events":
        return f"{r['delivered']} delivered, {r['failed']} failed"
    return ""


def _failed_streams(reports: dict[str, dict[str, Any]]) -> list[str]:
    """'tenant vendor stream: error' for every stream of a sync report that did not finish ('tenant vendor
    unreachable at URL (why)' for a vendor nobody answered for: its other streams were not tried)."""
    return [
        f"{slug} {s['vendor']} {s['error']}"
        if s.get("status") == "unreachable"
        else f"{slug} {s['vendor']} {s['stream']}: {s.get('error') or s['status']}"
        for slug, rep in reports.items()
        for inst in rep.get("installations", [])
        for s in inst.get("streams", [])
        if s.get("status") != "ok"
    ]


def _unreachable_hint(reports: dict[str, dict[str, Any]]) -> str | None:
    """What to check when a vendor could not be reached at all (the adapter's hint), else None."""
    return next(
        (
            s.get("hint")
            for rep in reports.values()
            for step in [rep, *rep.get("steps", {}).values()]
            for inst in step.get("installations", [])
            for s in inst.get("streams", [])
            if s.get("status") == "unreachable" and s.get("hint")
        ),
        None,
    )


def _incomplete(problems: list[str], total: int, what: str, hint: str) -> None:
    """Exit 1 with one line naming what did not finish (the report above is complete)."""
    if not problems:
        return
    first = problems[0] if len(problems) == 1 else f"{problems[0]}; and {len(problems) - 1} more"
    fail(f"{len(problems)} of {total} {what} did not finish ({first})", hint, code=1)


def _page_progress(vendor: str, stream: str, records: int) -> None:
    click.echo(f"\r  {vendor} {stream}: {records} records …".ljust(60), err=True, nl=False)


@click.command("sync")
@click.option("--tenant", help="Tenant slug (default: every tenant).")
@click.option("--vendor", type=click.Choice(["salesforce", "hubspot", "zendesk"]), help="Only this vendor.")
@click.option("--full", is_flag=True, help="Forget the cursors and read everything again.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def sync_cmd(ctx: click.Context, tenant: str | None, vendor: str | None, full: bool, as_json: bool) -> None:
    """Read what changed in each vendor since the saved cursors (per stream: read, upserted, deleted, api_calls)."""
    settings = settings_from(ctx, schema=True)
    out = {}
    if sys.stderr.isatty():  # progress on a terminal only; quiet when piped or in CI logs
        PAGE_PROGRESS.set(_page_progress)
    for tid, slug in tenant_ids(settings, tenant):
        if not as_json:
            click.echo(f"syncing {slug} …", err=True)
        out[slug] = pipeline.sync(settings, tid, vendor=vendor, full=full)
    if sys.stderr.isatty():
        click.echo("", err=True)
    failed = _failed_streams(out)
    total = sum(len(i["streams"]) for rep in out.values() for i in rep["installations"])
    hint = _unreachable_hint(out) or (
        "failed streams keep their cursors: run `healthscore sync` again once the vendor answers"
    )
    if as_json:
        emit({"tenants": out}, True)
        _incomplete(failed, total, "streams", hint)
        return
    for slug, rep in out.items():
        click.echo(f"{slug}")
        for inst in rep["installations"]:
            click.echo(f"  {inst['vendor']} ({inst['status']}, {inst['api_calls']} API calls)")
            for s in inst["streams"]:
                click.echo(
                    f"    {s['stream']:<9} read {s['read']:>6}  upserted {s['upserted']:>6}  deleted {s['deleted']:>4}"
                    f"  api_calls {s['api_calls']:>4}  {s['duration_s']:>6.2f}s  cursor {s['cursor']}"
                    + (f"  [{s['status']}: {s['error']} — {s['hint']}]" if s["status"] != "ok" else "")
                )
    _incomplete(failed, total, "streams", hint)


@click.command("run")
@click.option("--tenant", help="Tenant slug (default: every tenant).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def run_cmd(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """One whole pass: sync, link, sentiment, score, write-back and webhook events, with per-step counts."""
    settings = settings_from(ctx, schema=True)
    out = {}
    for _tid, slug in tenant_ids(settings, tenant):
        if not as_json:
            click.echo(f"{slug}:", err=True)
        out.update(pipeline.run_pass(settings, slug, progress=_noop if as_json else _progress))
    emit({"tenants": out}, as_json, "done" if not as_json else None)
    partial = [
        f"{slug} {step}: {r.get('error') or r.get('skipped') or _stream_count(slug, r)}"
        for slug, rep in out.items()
        if rep.get("status", "ok") != "ok"
        for step, r in rep.get("steps", {}).items()
        if "error" in r or "skipped" in r or _failed_streams({slug: r})
    ]
    unreachable = _unreachable_hint(out)
    _incomplete(
        partial,
        sum(len(rep.get("steps", {})) for rep in out.values()),
        "steps",
        f"{unreachable} What finished is stored."
        if unreachable
        else "what finished is stored; run `healthscore run` again once the cause above is fixed",
    )


def _stream_count(slug: str, sync_report: dict[str, Any]) -> str:
    """'2 streams failed', or the vendor that could not be reached at all (its URL and why)."""
    down = [
        f"{s['vendor']} {s['error']}"
        for inst in sync_report.get("installations", [])
        for s in inst.get("streams", [])
        if s.get("status") == "unreachable"
    ]
    if down:
        return "; ".join(down)
    return f"{len(_failed_streams({slug: sync_report}))} streams failed"


def _noop(step: str, report: dict[str, Any]) -> None:
    return None


@click.command("score")
@click.option("--tenant", help="Tenant slug (default: every tenant).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def score_cmd(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    """Score every account now with the published model (snapshots, band changes, queued write-back)."""
    settings = settings_from(ctx, schema=True)
    out = {slug: pipeline.score(settings, tid) for tid, slug in tenant_ids(settings, tenant)}
    emit({"tenants": out}, as_json, "\n".join(f"{s}: {_summary('score', r)}" for s, r in out.items()))


@click.command("writeback")
@click.option("--tenant", help="Tenant slug (default: every tenant).")
@click.option("--dry-run", is_flag=True, help="Report what would be written; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def writeback_cmd(ctx: click.Context, tenant: str | None, dry_run: bool, as_json: bool) -> None:
    """Write changed scores into CRM and helpdesk fields (per vendor: written, unchanged, rejected, api_calls)."""
    settings = settings_from(ctx, schema=True)
    out = {
        slug: pipeline.write_back(settings, tid, dry_run=dry_run)
        for tid, slug in tenant_ids(settings, tenant)
    }
    if as_json:
        emit({"dry_run": dry_run, "tenants": out}, True)
        _writeback_failures(out)
        return
    for slug, rep in out.items():
        click.echo(slug)
        for vendor, r in rep.items():
            line = f"  {vendor:<10} written {r['written']}  unchanged {r['unchanged']}  rejected {r['rejected']}  api_calls {r['api_calls']}"
            click.echo(line + (f"  (dry run: {r['pending']} would be written)" if dry_run else ""))
            for rej in r["rejections"][:10]:
                click.echo(f"    rejected {rej['external_id']}: {rej['error']} {rej['message']}")
            if r["error"]:
                click.echo(f"    error: {r['error']}")
    _writeback_failures(out)


def _writeback_failures(out: dict[str, dict[str, Any]]) -> None:
    failed = [
        f"{slug} {vendor}: {r['error']}"
        for slug, rep in out.items()
        for vendor, r in rep.items()
        if r["error"]
    ]
    _incomplete(
        failed,
        sum(len(rep) for rep in out.values()),
        "write-backs",
        "unwritten values stay queued: run `healthscore writeback` again once the vendor answers",
    )


COMMANDS = [sync_cmd, run_cmd, score_cmd, writeback_cmd]
