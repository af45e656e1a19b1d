"""Deep links to a record in its own system: the vendor's web app in production, an installation's
`settings["web_url"]` when set (the demo's emulator record pages), never a link without the HubSpot portal."""

from __future__ import annotations

from connector.readmodels.rows import HUBSPOT_WEB, ticket_url, web_base
from connector.store import models as m


def _inst(vendor: str, base_url: str, **kw: object) -> m.Installation:
    return m.Installation(vendor=vendor, base_url=base_url, **kw)


def test_production_links_are_the_vendors_own() -> None:
    assert (
        web_base(_inst("salesforce", "https://acme.my.salesforce.com/")) == "https://acme.my.salesforce.com"
    )
    assert web_base(_inst("zendesk", "https://acme.zendesk.com")) == "https://acme.zendesk.com"
    assert web_base(_inst("hubspot", "https://api.hubapi.com")) == HUBSPOT_WEB == "https://app.hubspot.com"
    assert ticket_url("hubspot", "9", f"{HUBSPOT_WEB}/contacts/62515007") == (
        "https://app.hubspot.com/contacts/62515007/record/0-5/9"
    )


def test_web_url_overrides_and_only_http_counts() -> None:
    demo = _inst("hubspot", "https://127.0.0.1:8702", settings={"web_url": "http://127.0.0.1:8700/"})
    assert web_base(demo) == "http://127.0.0.1:8700"
    odd = _inst("salesforce", "https://acme.my.salesforce.com", settings={"web_url": "javascript:alert(1)"})
    assert web_base(odd) == "https://acme.my.salesforce.com"
