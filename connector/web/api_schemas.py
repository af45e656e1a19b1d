"""JSON Schemas of the REST API's bodies (components of the OpenAPI document in api_docs.py)."""

from __future__ import annotations

from typing import Any

from connector.web.api_play_schemas import SCHEMAS as PLAY_SCHEMAS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


VENDOR = {"type": "string", "enum": ["salesforce", "hubspot", "zendesk"]}
INT = {"type": "integer"}
# Every request with a NUL is refused (400) before routing: stated here so clients generated from the
# document never send what we refuse (found by tests/reliability/test_api_schema.py).
FREE_TEXT_NO_NUL = "^[^\\u0000]*$"
NUM_OR_NULL = {"type": ["number", "null"]}

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "hint": {"type": ["string", "null"]},
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": INT,
            "problems": {"type": "array", "items": {"type": "string"}},
        },
    },
    "AccountRow": {
        "type": "object",
        "properties": {
            "id": INT,
            "vendor": VENDOR,
            "external_id": {"type": "string"},
            "name": {"type": "string"},
            "segment": {"type": ["string", "null"]},
            "arr": {"type": ["string", "null"], "description": "decimal as string"},
            "renewal_date": {"type": ["string", "null"], "format": "date"},
            "score": NUM_OR_NULL,
            "band": {"type": ["string", "null"]},
            "trend_30d": NUM_OR_NULL,
            "confidence": NUM_OR_NULL,
            "as_of": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "AccountPage": {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": _ref("AccountRow")},
            "page": INT,
            "limit": INT,
            "total": INT,
            "next_page": {"type": ["integer", "null"]},
            "bands": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"band": {"type": "string"}, "count": INT, "arr": {"type": "string"}},
                },
            },
        },
    },
    "AccountDetail": {
        "type": "object",
        "description": "AccountRow fields plus history and context",
        "properties": {
            "history": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "as_of": {"type": "string", "format": "date-time"},
                        "score": {"type": "number"},
                        "band": {"type": "string"},
                        "model_version": {"type": "string"},
                    },
                },
            },
            "dimensions": {"type": "object", "additionalProperties": NUM_OR_NULL},
            "drivers": {"type": "array", "items": {"type": "object"}},
            "tickets": {"type": "array", "items": _ref("Ticket")},
            "surveys": {"type": "array", "items": {"type": "object"}},
            "deals": {"type": "array", "items": {"type": "object"}},
            "links": {"type": "array", "items": {"type": "object"}},
            "bands": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Health": {
        "type": "object",
        "properties": {
            "account_id": INT,
            "name": {"type": "string"},
            "vendor": VENDOR,
            "external_id": {"type": "string"},
            "score": NUM_OR_NULL,
            "band": {"type": ["string", "null"]},
            "band_label": {
                "type": "string",
                "description": "the band in words: 'Red (At risk)', or without a band 'Not scored' / "
                "'Former customer — not scored'",
            },
            "former": {
                "type": "boolean",
                "description": "a former customer (churned in the CRM, or renewal lost): scoring skips it",
            },
            "trend_30d": NUM_OR_NULL,
            "confidence": NUM_OR_NULL,
            "sentiment_30d": NUM_OR_NULL,
            "drivers": {"type": "array", "items": {"type": "object"}},
            "recommended_action": {"type": ["string", "null"]},
            "as_of": {"type": ["string", "null"]},
            "model_version": {"type": ["string", "null"]},
            "url": {"type": "string", "format": "uri"},
        },
    },
    "Ticket": {
        "type": "object",
        "properties": {
            "id": INT,
            "vendor": VENDOR,
            "external_id": {"type": "string"},
            "subject": {"type": "string"},
            "status": {"type": "string"},
            "priority": {"type": "string"},
            "group_name": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "sentiment_label": {
                "type": ["string", "null"],
                "enum": ["negative", "neutral", "positive", None],
            },
            "sentiment_score": NUM_OR_NULL,
            "sentiment_excerpt": {"type": ["string", "null"]},
            "crm_account_id": {"type": ["integer", "null"]},
        },
    },
    "TicketPage": {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": _ref("Ticket")},
            "next_cursor": {"type": ["string", "null"]},
            "limit": INT,
        },
    },
    "Webhook": {
        "type": "object",
        "properties": {
            "id": INT,
            "url": {"type": "string", "format": "uri"},
            "description": {"type": "string"},
            "event_types": {
                "type": "array",
                "items": {"type": "string", "enum": ["account.band_changed", "account.score_changed"]},
            },
            "enabled": {"type": "boolean"},
            "disabled_reason": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "secret": {"type": "string", "description": "whsec_… — only in the create and rotate responses"},
            "rotation_ends_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "While a rotation is in progress: when the previous secret stops signing "
                "(it is dropped then); null when only one secret signs",
            },
        },
    },
    "WebhookRotate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "hours": {
                "type": "integer",
                "minimum": 1,
                "maximum": 168,
                "default": 24,
                "description": "How long the previous secret keeps signing next to the new one: "
                "between 1 hour and 7 days (168 hours); 24 when left out",
            },
        },
    },
    "WebhookInput": {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "format": "uri", "minLength": 1, "maxLength": 2000},
            "description": {
                "type": ["string", "null"],
                "maxLength": 500,
                "pattern": FREE_TEXT_NO_NUL,
                "description": "null: none",
            },
            "event_types": {
                "type": "array",
                "maxItems": 20,
                "items": {"type": "string", "maxLength": 100},
            },
            "enabled": {"type": "boolean"},
        },
    },
    "WebhookPatch": {
        "type": "object",
        "description": "Only the fields to change",
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "format": "uri", "minLength": 1, "maxLength": 2000},
            "description": {
                "type": ["string", "null"],
                "maxLength": 500,
                "pattern": FREE_TEXT_NO_NUL,
                "description": "null: clear it",
            },
            "event_types": {
                "type": "array",
                "maxItems": 20,
                "items": {"type": "string", "maxLength": 100},
            },
            "enabled": {"type": "boolean"},
        },
    },
    "ModelVersion": {
        "type": "object",
        "properties": {
            "id": INT,
            "version": {"type": "string"},
            "status": {"type": "string", "enum": ["draft", "published", "retired"]},
            "created_at": {"type": "string"},
            "published_at": {"type": ["string", "null"]},
            "yaml": {"type": "string"},
        },
    },
    "SyncStatus": {
        "type": "object",
        "properties": {
            "installations": {"type": "array", "items": {"type": "object"}},
            "runs": {"type": "array", "items": {"type": "object"}},
        },
    },
}
SCHEMAS.update(PLAY_SCHEMAS)  # plays: connector/web/api_play_schemas.py
