"""`healthscore embed`: package the in-vendor views (the Zendesk sidebar app zip)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import click

from connector.commands.context import settings_from
from connector.commands.output import emit, fail

SIDEBAR = Path(__file__).resolve().parents[2] / "integrations" / "zendesk" / "sidebar"
REQUIRED = (
    "manifest.json",
    "translations/en.json",
    "assets/iframe.html",
    "assets/main.js",
    "assets/logo.png",
    "assets/logo-small.png",
)


@click.group("embed")
def COMMAND() -> None:  # noqa: N802 - the registry looks for this name
    """Views inside the vendors (HubSpot card: built with npm; Zendesk sidebar: packaged here)."""


def build_zendesk_zip(source: Path, out: Path, api_url: str) -> dict[str, object]:
    """Zip the sidebar app with its manifest pointed at `api_url` (domain whitelist + default setting)."""
    missing = [name for name in REQUIRED if not (source / name).is_file()]
    if missing:
        raise click.ClickException(f"the sidebar app is missing {', '.join(missing)} under {source}")
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    host = urlsplit(api_url).hostname
    if not host or urlsplit(api_url).scheme not in {"https", "http"}:
        fail(
            f"--api-url {api_url!r} is not an http(s) URL",
            "pass the address people open healthscore at, e.g. --api-url https://health.example.com",
            code=2,
        )
    # Zendesk's proxy injects secure settings only for whitelisted domains.
    manifest["domainWhitelist"] = [host]
    for param in manifest.get("parameters", []):
        if param.get("name") == "api_url":
            param["default"] = api_url.rstrip("/")
    out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.name != "manifest.json")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n")
        for path in files:
            zf.write(path, path.relative_to(source).as_posix())
    return {"zip": str(out), "files": 1 + len(files), "version": manifest.get("version"), "domain": host}


@COMMAND.command("package-zendesk")
@click.option("--api-url", default=None, help="healthscore URL the app calls (default: public_base_url).")
@click.option(
    "--out", "out_path", default=None, type=click.Path(dir_okay=False), help="Zip path (default: instance/)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def package_zendesk(ctx: click.Context, api_url: str | None, out_path: str | None, as_json: bool) -> None:
    """Build the Zendesk sidebar app zip to upload under Zendesk Admin Center → Apps → Upload private app."""
    settings = settings_from(ctx)
    url = api_url or settings.public_base_url
    if settings.env == "production" and not url.startswith("https://"):
        fail("Zendesk apps must call https URLs", "pass --api-url https://…")
    manifest = json.loads((SIDEBAR / "manifest.json").read_text(encoding="utf-8"))
    out = (
        Path(out_path)
        if out_path
        else Path(settings.instance_path) / f"healthscore-zendesk-{manifest['version']}.zip"
    )
    result = build_zendesk_zip(SIDEBAR, out, url)
    emit(result, as_json, f"wrote {result['zip']} ({result['files']} files) for {result['domain']}")
