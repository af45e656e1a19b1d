"""`healthscore backtest`: how well the score would have predicted churn."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from connector.commands.context import settings_from
from connector.commands.output import emit, fail
from connector.commands.pipeline import tenant_ids
from connector.pipeline.backtest import AsOfOutsideDataError, run_backtest
from connector.store.db import transaction


def _horizon(value: str) -> int:
    value = value.strip().lower()
    if value.endswith("d") and value[:-1].isdigit():
        return int(value[:-1])
    if value.isdigit():
        return int(value)
    raise click.BadParameter("use days, e.g. 90d")


@click.command("backtest")
@click.option("--tenant", help="Tenant slug (default: every tenant).")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Score as of this date (default: now - horizon).",
)
@click.option("--horizon", default="90d", show_default=True, help="Outcome window after --as-of.")
@click.option(
    "--suggest-weights",
    is_flag=True,
    help="Fit non-negative dimension weights (cross-validated) and show the AUC change.",
)
@click.option("--json", "as_json", is_flag=True, help='Print one JSON object with a top-level "auc".')
@click.pass_context
def COMMAND(  # noqa: N802
    ctx: click.Context,
    tenant: str | None,
    as_of: datetime | None,
    horizon: str,
    suggest_weights: bool,
    as_json: bool,
) -> None:
    """Score every account as of a past date with the current model and compare with what happened:
    AUC, churn rate per band, lift of red over green, calibration."""
    settings = settings_from(ctx, schema=True)
    days = _horizon(horizon)
    out: dict[str, Any] = {}
    for tid, slug in tenant_ids(settings, tenant):
        with transaction(settings.sqlalchemy_url) as session:
            try:
                out[slug] = run_backtest(
                    session,
                    tid,
                    as_of=as_of.replace(tzinfo=UTC) if as_of else None,
                    horizon_days=days,
                    suggest=suggest_weights,
                )
            except AsOfOutsideDataError as exc:
                fail(f"{slug}: --as-of {exc}", f"pass --as-of {exc.hint}, or leave --as-of out", code=2)
            finally:
                session.rollback()  # a backtest stores nothing
    if as_json:
        emit(next(iter(out.values())) if len(out) == 1 else {"tenants": out, "auc": None}, True)
        return
    for slug, r in out.items():
        click.echo(
            f"{slug}: as of {r['as_of'][:10]}, horizon {r['horizon_days']} d ({r['truth']}), model {r['model_version']}"
        )
        ci = r.get("auc_interval") or {}
        span = f" (95 % interval {ci['low']:.3f}-{ci['high']:.3f})" if ci.get("low") is not None else ""
        click.echo(
            f"  AUC {r['auc']}{span}  accounts {r['accounts']}  churned {r['churned']}  lift red/green {r['lift_red_over_green']}"
        )
        if r.get("auc_verdict"):
            click.echo(f"  {r['auc_verdict']}")
        for b in r["bands"]:
            rate = "n/a" if b["rate"] is None else f"{b['rate']:.1%}"
            if b.get("rate_low") is not None:
                rate += f" ({b['rate_low']:.1%}-{b['rate_high']:.1%})"
            note = f"  {b['verdict']}" if b.get("verdict") else ""
            click.echo(
                f"  {b['band']:<8} {b['accounts']:>5} accounts  {b['churned']:>4} churned  churn {rate}{note}"
            )
        if "suggested_weights" in r:
            s = r["suggested_weights"]
            click.echo(f"  suggested weights: {s.get('weights', s)}")
            if "auc_before" in s:
                click.echo(f"  AUC {s['auc_before']} → {s['auc_after_cross_validated']} (cross-validated)")
