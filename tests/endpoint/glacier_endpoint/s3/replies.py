"""Small helpers shared by the S3 operations: XML replies, owners, query parameters, dates."""

import datetime
import email.utils

from . import xmlio
from .errors import invalid_argument


def xml_reply(handler, root, children, status=200, headers=None):
    handler.respond(status, headers, xmlio.document(root, children), content_type="application/xml")


def empty_reply(handler, status=200, headers=None):
    handler.respond(status, headers)


def owner(store):
    return [("ID", store.owner_id), ("DisplayName", "coldvault-test")]


def int_query(handler, name, default, maximum=None, minimum=0):
    raw = handler.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.lstrip("-").isdigit():
        raise invalid_argument("Provided %s not an integer or within integer range" % name, name, raw)
    value = int(raw)
    if value < minimum:
        raise invalid_argument("Argument %s must be an integer between %d and 2147483647" % (name, minimum), name, raw)
    return min(value, maximum) if maximum is not None else value


def parse_timestamp(text):
    """An ISO 8601 or RFC 1123 timestamp as seconds since the epoch, or None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment.timestamp()
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None


def truthy(value):
    return (value or "").strip().lower() == "true"
