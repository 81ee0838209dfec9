"""Glacier error responses: JSON bodies {"code", "message", "type"} with AWS's status codes."""


class GlacierError(Exception):
    """An error the endpoint answers with, as AWS would."""

    def __init__(self, status, code, message, error_type="Client", close=False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error_type = error_type
        # Some faults (408) tell the client to drop the connection, as a timing-out server does.
        self.close = close

    def body(self):
        return {"code": self.code, "message": self.message, "type": self.error_type}


def invalid(message):
    return GlacierError(400, "InvalidParameterValueException", message)


def missing(name):
    # Wording as AWS returns it, e.g. "Required parameter missing: x-amz-sha256-tree-hash".
    return GlacierError(400, "MissingParameterValueException", "Required parameter missing: %s" % name)


def not_found(message):
    return GlacierError(404, "ResourceNotFoundException", message)


def serialization(message):
    return GlacierError(400, "SerializationException", message)
