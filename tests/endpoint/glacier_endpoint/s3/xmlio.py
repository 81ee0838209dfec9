"""XML in and out, the way S3 writes it (namespace on the root, UTF-8, dates in ISO 8601)."""

import xml.etree.ElementTree as ET

__all__ = ["ET", "document", "error_document", "parse", "NAMESPACE"]

from .errors import malformed_xml

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_XML_BODY = 2 * 1024 * 1024


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent, children):
    """children: list of (tag, value) where value is None (skipped), a scalar, or a list of pairs (a nested element)."""
    for tag, value in children:
        if value is None:
            continue
        element = ET.SubElement(parent, tag)
        if isinstance(value, list):
            _fill(element, value)
        else:
            element.text = _text(value)


def document(root, children, namespace=True):
    element = ET.Element(root, {"xmlns": NAMESPACE} if namespace else {})
    _fill(element, children)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="utf-8")


def error_document(code, message, request_id, host_id, fields):
    children = [("Code", code), ("Message", message)]
    children += list(fields.items())
    children += [("RequestId", request_id), ("HostId", host_id)]
    return document("Error", children, namespace=False)


def _strip(tag):
    return tag.rsplit("}", 1)[-1]


class Node:
    """A parsed element with namespace-free lookups."""

    def __init__(self, element):
        self.element = element
        self.tag = _strip(element.tag)

    @property
    def text(self):
        return (self.element.text or "").strip()

    def all(self, tag):
        return [Node(child) for child in self.element if _strip(child.tag) == tag]

    def one(self, tag):
        found = self.all(tag)
        if len(found) > 1:
            raise malformed_xml()
        return found[0] if found else None

    def value(self, tag, default=None):
        node = self.one(tag)
        return node.text if node is not None else default

    def children(self):
        return [Node(child) for child in self.element]


def parse(raw, root):
    """Parse a request body whose root element must be ``root``; MalformedXML otherwise."""
    try:
        element = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise malformed_xml() from exc
    for item in element.iter():
        # Namespace-free tags, so elements can be written back as they came.
        item.tag = _strip(item.tag)
    node = Node(element)
    if node.tag != root:
        raise malformed_xml()
    return node
