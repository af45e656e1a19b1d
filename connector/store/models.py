"""The store's tables (SQLAlchemy 2, typed). Every row carries tenant_id; vendor records are upserted by
(tenant_id, vendor, external_id) and soft-deleted (deleted_at) so scoring can exclude them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, validates
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Rows under the one-workspace-per-account rule (installs.ONE_WORKSPACE_PER_ACCOUNT: HubSpot) that must be unique
# per (vendor, vendor_account): live ones not exempted by migration 0011.
ONE_WORKSPACE_PREDICATE = (
    "vendor = 'hubspot' AND vendor_account IS NOT NULL AND status <> 'disconnected' AND NOT account_shared"
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:  # the common case, kept cheap: a pass binds and reads ~1M of these
            return value
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        # SQLite keeps the wall time and drops the offset: store UTC so 12:00+02:00 reads back as 10:00Z.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is UTC:  # PostgreSQL sessions run in UTC (db.get_engine): no conversion, no copy
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _unique_where(name: str, columns: tuple[str, ...], predicate: str) -> Index:
    """A partial unique index, the same predicate on both engines (the migration that made it spells it out)."""
    return Index(name, *columns, unique=True, sqlite_where=text(predicate), postgresql_where=text(predicate))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


def _id() -> Mapped[int]:
    return mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


def _tenant() -> Mapped[int]:
    return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = _id()
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    primary_crm: Mapped[str | None] = mapped_column(String(20))
    # The tenant's "now" when its vendors are a simulated world (the demo's emulators); None: the wall clock.
    # Stored so every command and page works without the emulator running (connector/clock.py).
    clock_now: Mapped[datetime | None]
    created_at: Mapped[datetime]


class RecordedTruth(Base):
    """Ground truth a simulated book supplied (renewal outcomes, true ticket owners), recorded by the demo
    so link reports and backtests can compare against it later without the emulator; real tenants have none."""

    __tablename__ = "recorded_truth"
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    recorded_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON())


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("email"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # admin | viewer
    invite_token_hash: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # When an admin last cleared their password ("New sign-in link": they choose a new one on the link);
    # NULL once they set it, and for an invitation (never had a password). See users.status.
    password_reset_at: Mapped[datetime | None]


class UserSession(Base):
    """A signed-in browser session, checked on every request: deleting the row ends the session even
    though the cookie is still validly signed (logout, sign out everywhere, removal, demotion)."""

    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the id in the cookie
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


# One play per name, and one live API key per name, in a workspace (case and surrounding spaces ignored: the
# name_key column), so two requests racing past the code checks (admin/plays.named,
# installs/users.live_key_named) cannot both insert. Twins already there when this came (migration 0012)
# are exempt (name_shared): all but the oldest of each.
PLAY_NAME_PREDICATE = "NOT name_shared"
KEY_NAME_PREDICATE = "revoked_at IS NULL AND NOT name_shared"


def name_key(name: str | None) -> str:
    """A play's or key's name as the duplicate checks compare it: trimmed and lower-cased in Python (the
    same on both engines; SQLite's lower() folds ASCII only). Migration 0012 has its own copy."""
    return (name or "").strip().lower()


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        _unique_where("ux_api_keys_tenant_live_name_key", ("tenant_id", "name_key"), KEY_NAME_PREDICATE),
    )
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scope: Mapped[str] = mapped_column(String(32), default="read")  # read | admin | installation
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    name_key: Mapped[str] = mapped_column(String(200), server_default="")  # set with name (_name_key)
    name_shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # 0012
    # An installation-scope key belongs to the vendor installation it was made for (the Zendesk sidebar's):
    # it works while that installation is connected, and disconnecting revokes it (0015). NULL for others.
    installation_id: Mapped[int | None] = mapped_column(
        ForeignKey("installations.id", ondelete="SET NULL"), index=True
    )
    expires_at: Mapped[datetime | None]  # chosen when made (30/90/365 days); NULL: never (0016)
    # Who made it (0020): removing or demoting them revokes the keys that need more than they keep
    # (users.keys_beyond_role). NULL: made before 0020 with no audit entry naming a current user, or the
    # creator was removed since (their keys were revoked then; the audit log names them).
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    @validates("name")
    def _name_key(self, _attr: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


class Installation(Base):
    """One connected vendor of a tenant; tokens are encrypted by connector.installs.vault."""

    __tablename__ = "installations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "vendor"),
        # One live workspace per HubSpot portal (the card finds its workspace by portal id alone), so two
        # OAuth callbacks racing past installs.check_account_free cannot both store it. Rows that already
        # shared a portal when this came (migration 0011) are exempt until reconnected (account_shared).
        _unique_where(
            "ux_installations_one_workspace_account", ("vendor", "vendor_account"), ONE_WORKSPACE_PREDICATE
        ),
    )
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    vendor: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(
        String(20), default="connected"
    )  # connected|reconnect|disconnected|error
    base_url: Mapped[str] = mapped_column(String(500))
    token_url: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(500))
    client_secret_enc: Mapped[str] = mapped_column(Text)
    tokens_enc: Mapped[str | None] = mapped_column(Text)
    ca_file: Mapped[str | None] = mapped_column(String(1000))
    vendor_account: Mapped[str | None] = mapped_column(
        String(200)
    )  # SF org id, HubSpot portal id, Zendesk subdomain
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    webhook_secret_enc: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    # True: this row's portal was connected to another workspace too when the one-workspace constraint
    # came (migration 0011); the constraint skips it until it is reconnected (installs.save clears it).
    account_shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Account(Base):
    """A CRM account, HubSpot company or Zendesk organization."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "vendor", "external_id"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    vendor: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    domains: Mapped[list[Any]] = mapped_column(default=list)
    cross_ref: Mapped[str | None] = mapped_column(String(64))
    segment: Mapped[str | None] = mapped_column(String(64))
    plan: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(200))
    owner_email: Mapped[str | None] = mapped_column(String(320))  # maps a rep (user e-mail) to accounts
    arr: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    arr_prev: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    renewal_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    vendor_updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class AccountLink(Base):
    """A helpdesk organization tied to a CRM account, with how and who decided."""

    __tablename__ = "account_links"
    __table_args__ = (UniqueConstraint("tenant_id", "source_account_id"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    source_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    crm_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    method: Mapped[str] = mapped_column(String(20))  # external_id|domain|name|manual|unmatched
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16))  # auto|confirmed|review
    reason: Mapped[str | None] = mapped_column(Text)
    confirmed_by: Mapped[str | None] = mapped_column(String(320))
    confirmed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("tenant_id", "vendor", "external_id"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    vendor: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    account_external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(300), default="")
    last_contacted_at: Mapped[datetime | None]
    vendor_updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (UniqueConstraint("tenant_id", "vendor", "external_id"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    vendor: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    account_external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(20), default="other")
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    stage: Mapped[str] = mapped_column(String(100), default="")
    stage_label: Mapped[str | None] = mapped_column(String(200))  # HubSpot: the pipeline stage's label
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    close_date: Mapped[date | None] = mapped_column(Date)
    vendor_created_at: Mapped[datetime | None]
    vendor_updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "vendor", "external_id"),
        Index("ix_tickets_tenant_account", "tenant_id", "crm_account_id"),
        Index("ix_tickets_tenant_created", "tenant_id", "vendor_created_at"),
        Index("ix_tickets_options", "tenant_id", "deleted_at", "group_name", "priority", "status", "vendor"),
    )
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    vendor: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    account_external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    crm_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    link_method: Mapped[str | None] = mapped_column(String(20))
    requester_email: Mapped[str | None] = mapped_column(String(320))
    number: Mapped[str | None] = mapped_column(String(40))  # the number people quote (SF CaseNumber)
    subject: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="")
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    group_name: Mapped[str | None] = mapped_column(String(200))
    vendor_created_at: Mapped[datetime]
    solved_at: Mapped[datetime | None]
    first_reply_minutes: Mapped[float | None] = mapped_column(Float)
    full_resolution_minutes: Mapped[float | None] = mapped_column(Float)
    vendor_updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_confidence: Mapped[float | None] = mapped_column(Float)
    sentiment_excerpt: Mapped[str | None] = mapped_column(Text)
    sentiment_hash: Mapped[str | None] = mapped_column(String(64))


class TicketComment(Base):
    __tablename__ = "ticket_comments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "vendor", "external_id"),
        Index("ix_comments_ticket", "tenant_id", "vendor", "ticket_external_id"),
    )
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    vendor: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    ticket_external_id: Mapped[str] = mapped_column(String(64))
    author_role: Mapped[str] = mapped_column(String(10))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    body: Mapped[str] = mapped_column(Text, default="")
    vendor_created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("tenant_id", "vendor", "external_id"),
        Index("ix_surveys_tenant_ticket", "tenant_id", "ticket_external_id"),
    )
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    vendor: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # csat | nps
    score: Mapped[float] = mapped_column(Float)
    account_external_id: Mapped[str | None] = mapped_column(String(64), index=True)
    ticket_external_id: Mapped[str | None] = mapped_column(String(64))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    comment: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime]
    vendor_updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class MetricChange(Base):
    """A change of a mapped account metric (seat usage ...) from the CRM's field history: what the field
    said on a past date, so a backtest can score it as of then (connector/pipeline/signals.py)."""

    __tablename__ = "metric_changes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "vendor", "external_id"),
        Index(
            "ix_metric_changes_account", "tenant_id", "vendor", "account_external_id", "metric", "changed_at"
        ),
    )
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    vendor: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    account_external_id: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float)
    old_value: Mapped[float | None] = mapped_column(Float)
    changed_at: Mapped[datetime]
    vendor_updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class SentimentResult(Base):
    """Cache of model output keyed by text hash and model version: unchanged text is never scored twice."""

    __tablename__ = "sentiment_results"
    __table_args__ = (UniqueConstraint("tenant_id", "text_hash", "model_version"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    text_hash: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(10))
    score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    excerpt: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class SyncCursor(Base):
    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("installation_id", "stream"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(20))
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Run(Base):
    """One pipeline pass (or one step run alone) and its report."""

    __tablename__ = "runs"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    run_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # running|ok|partial|failed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ScoringModelVersion(Base):
    __tablename__ = "scoring_models"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    version: Mapped[str] = mapped_column(String(64))
    yaml: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # draft | published | retired
    backtest: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class ModelPreview(Base):
    """A scoring model editor's backtest preview, kept so the editor can show it by GET after the POST that
    ran it (Post/Redirect/Get: a reload or Back does not run the backtest again). Kept a day (0013)."""

    __tablename__ = "model_previews"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    created_by: Mapped[str] = mapped_column(String(320))
    mode: Mapped[str] = mapped_column(String(8))  # form | yaml: the editor tab it came from
    version: Mapped[str] = mapped_column(String(64))  # the draft name typed in the form
    yaml: Mapped[str] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class OneTimeReveal(Base):
    """A secret a POST just made (an API key, a webhook signing secret, an invitation link, a Salesforce
    inbound URL), kept for the one GET after it (Post/Redirect/Get): encrypted with the token vault, bound to
    the person and workspace that made it, deleted when that GET reads it or after ten minutes
    (connector/admin/reveals.py, migration 0014)."""

    __tablename__ = "one_time_reveals"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # api_key | webhook_endpoint | webhook_rotation | …
    payload_enc: Mapped[str] = mapped_column(Text)  # Vault-encrypted JSON: the secret and what it is for
    created_at: Mapped[datetime]


class ScoreSnapshot(Base):
    """One account's score as of one pass; the history behind trends and charts."""

    __tablename__ = "score_snapshots"
    __table_args__ = (
        # INCLUDE score (PostgreSQL, migration 0010): sparklines read scores as an index-only scan
        Index("ix_snapshots_account_asof", "tenant_id", "account_id", "as_of", postgresql_include=["score"]),
        Index("ix_snapshots_tenant_asof", "tenant_id", "as_of"),
    )
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    as_of: Mapped[datetime]
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(32))
    band_since: Mapped[datetime]
    segment: Mapped[str | None] = mapped_column(String(64))
    dimensions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    drivers: Mapped[list[Any]] = mapped_column(default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confidence: Mapped[float] = mapped_column(Float)
    trend_30d: Mapped[float | None] = mapped_column(Float)
    sentiment_30d: Mapped[float | None] = mapped_column(Float)
    recommended_action: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(64))


class CurrentScore(Base):
    """Each account's newest snapshot (by as_of, then id), kept by `_track_current` on every flush that
    adds snapshots: pages read this instead of ranking the whole history.

    It carries the snapshot's score, band, trend and confidence too (migration 0009), so the portfolio
    counts, totals, filters and sorts 10k accounts from this narrow table and reads the wide snapshot rows
    (drivers) only for the page it shows."""

    __tablename__ = "current_scores"
    __table_args__ = (
        Index("ix_current_scores_tenant", "tenant_id", "account_id"),
        Index("ix_current_scores_band_score", "tenant_id", "band", "score"),
    )
    account_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("score_snapshots.id", ondelete="CASCADE"))
    as_of: Mapped[datetime]
    score: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(32))
    trend_30d: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)


# What current_scores copies from the snapshot it points at (besides snapshot_id and as_of).
CURRENT_COPIED = ("score", "band", "trend_30d", "confidence")


@event.listens_for(Session, "after_flush")
def _track_current(session: Session, _ctx: Any) -> None:
    """Point current_scores at the snapshots this flush added when they are newer than the current one.
    One place for every writer (full pass, targeted refresh, seeds), in the same transaction."""
    added = [obj for obj in session.new if isinstance(obj, ScoreSnapshot)]
    if added:
        track_current(session.connection(), added)
    # A snapshot edited in place (tests, repairs) keeps its copy in current_scores in step.
    for obj in session.dirty:
        if isinstance(obj, ScoreSnapshot) and session.is_modified(obj, include_collections=False):
            session.connection().execute(
                update(CurrentScore)
                .where(CurrentScore.snapshot_id == obj.id)
                .values({name: getattr(obj, name) for name in CURRENT_COPIED})
            )


def track_current(conn: Any, snaps: Iterable[ScoreSnapshot]) -> None:
    """Point current_scores at the newest (by as_of, then id) of these stored snapshots, per account, where
    it is newer than the account's current one."""
    rows: dict[int, dict[str, Any]] = {}
    for snap in snaps:
        cur = rows.get(snap.account_id)
        if cur is None or (snap.as_of, snap.id) > (cur["as_of"], cur["snapshot_id"]):
            rows[snap.account_id] = {
                "account_id": snap.account_id,
                "tenant_id": snap.tenant_id,
                "snapshot_id": snap.id,
                "as_of": snap.as_of,
                **{name: getattr(snap, name) for name in CURRENT_COPIED},
            }
    if rows:
        upsert_current(conn, list(rows.values()))


def upsert_current(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Point current_scores at these snapshots where they are newer. Each row: account_id, tenant_id,
    snapshot_id, as_of and the CURRENT_COPIED values of that snapshot."""
    from connector.store.db import upsert_insert

    insert = upsert_insert(conn.dialect.name)
    cur = CurrentScore
    stmt = insert(cur)
    new = stmt.excluded
    newer = (cur.as_of < new.as_of) | ((cur.as_of == new.as_of) & (cur.snapshot_id < new.snapshot_id))
    # One statement executed for many rows (a cached statement; psycopg pipelines it), not VALUES lists of
    # 1,000 rows that SQLAlchemy compiled and psycopg parsed anew each pass (issue 17).
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["account_id"],
            set_={
                "snapshot_id": new.snapshot_id,
                "as_of": new.as_of,
                "tenant_id": new.tenant_id,
                **{name: getattr(new, name) for name in CURRENT_COPIED},
            },
            where=newer,
        ),
        rows,
    )


class WrittenValue(Base):
    """What we last wrote to a vendor record and the vendor confirmed: the base of the write-back diff."""

    __tablename__ = "written_values"
    __table_args__ = (UniqueConstraint("installation_id", "external_id"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confirmed_at: Mapped[datetime]


class WritebackOutbox(Base):
    __tablename__ = "writeback_outbox"
    __table_args__ = (Index("ix_outbox_status", "tenant_id", "installation_id", "status"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    # "fields": score field values for one record; "task": one play task operation (values: op, task id).
    kind: Mapped[str] = mapped_column(String(16), default="fields", server_default="fields")
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))  # pending|claimed|done|rejected
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    secrets_enc: Mapped[str] = mapped_column(Text)  # encrypted JSON list of whsec_ secrets, newest first
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    # While a rotation is in progress (two secrets sign): when the previous secret stops signing and is
    # dropped (connector/admin/webhooks.py, migration 0017). NULL: no rotation in progress.
    rotation_ends_at: Mapped[datetime | None]


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # pending|delivered|failed|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class InboundEvent(Base):
    """A vendor webhook we accepted; the unique key makes redelivery idempotent."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("tenant_id", "vendor", "event_key"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    vendor: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))  # queued|done|failed
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class Play(Base):
    """An admin-defined play: a band transition (and segments) that creates a task for the account owner."""

    __tablename__ = "plays"
    __table_args__ = (
        _unique_where("ux_plays_tenant_name_key", ("tenant_id", "name_key"), PLAY_NAME_PREDICATE),
    )
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    name: Mapped[str] = mapped_column(String(200))
    to_band: Mapped[str] = mapped_column(String(32))
    from_bands: Mapped[list[Any]] = mapped_column(default=list)  # empty: from any band
    segments: Mapped[list[Any]] = mapped_column(default=list)  # empty: every segment
    subject: Mapped[str] = mapped_column(String(255))  # {account} and {band} are filled in
    next_step: Mapped[str] = mapped_column(Text, default="")
    due_days: Mapped[int] = mapped_column(Integer, default=3)
    zendesk_ticket: Mapped[bool] = mapped_column(Boolean, default=False)
    on_recovery: Mapped[str] = mapped_column(String(8), default="close")  # close|leave
    cooldown_days: Mapped[int] = mapped_column(Integer, default=14)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    name_key: Mapped[str] = mapped_column(String(200), server_default="")  # set with name (_name_key)
    # a twin of an older play's name when migration 0012 came: exempt from the one-name index until renamed
    name_shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @validates("name")
    def _name_key(self, _attr: str, value: str) -> str:
        if self.name_key is not None and self.name_key != name_key(value):
            self.name_shared = False  # renamed: the one-name constraint holds for it again
        self.name_key = name_key(value)
        return value


class PlayTask(Base):
    """One task a play created for an account (and its optional Zendesk ticket); the outbox carries the
    vendor calls, this row remembers the vendor ids and whether the task is open."""

    __tablename__ = "play_tasks"
    __table_args__ = (Index("ix_play_tasks_account_play", "tenant_id", "account_id", "play_id"),)
    id: Mapped[int] = _id()
    tenant_id: Mapped[int] = _tenant()
    play_id: Mapped[int] = mapped_column(ForeignKey("plays.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    vendor: Mapped[str] = mapped_column(String(20))  # the CRM the task lives in
    vendor_task_id: Mapped[str | None] = mapped_column(String(64))
    ticket_id: Mapped[str | None] = mapped_column(String(64))  # Zendesk ticket for the support lead
    state: Mapped[str] = mapped_column(String(16))  # queued|open|closing|closed|failed
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]  # the pass (as_of) that fired the play
    closed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
