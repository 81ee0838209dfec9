"""HTTP/1.1 keep-alive server: request bodies, responses, faults, shaping and logging."""

import json
import logging
import socket
import ssl
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import API_VERSION, __version__, control, ids, routes
from .errors import GlacierError, invalid
from .faults import ERROR_KINDS
from .network import TokenBucket
from .operations import OPERATIONS
from .s3 import handler as s3_handler
from .s3 import routes as s3_routes
from .s3.errors import S3Error
from .s3.xmlio import error_document

LOG = logging.getLogger("glacier_endpoint")
WRITE_PIECE = 256 * 1024
# Operations whose "drop" fault sends half the body before closing.
STREAMED_OUTPUT = ("GetJobOutput", "GetObject")


class DropConnection(Exception):
    """Close the connection without (finishing) a response, as a network failure would."""


class IncompleteBody(Exception):
    """The client closed the connection or sent malformed chunked framing mid-body."""


class RequestBody:
    """The request body (Content-Length or chunked), read through the connection's bandwidth cap."""

    def __init__(self, handler, shaped):
        self._rfile = handler.rfile
        self._bucket = handler.read_bucket if shaped else None
        service = handler.service
        self._count = (lambda count: handler.server.counters.received(count, service)) if shaped else None
        self.chunked = "chunked" in handler.headers.get("Transfer-Encoding", "").lower()
        length = handler.headers.get("Content-Length")
        if self.chunked:
            self.length = None
        elif length is None:
            self.length = 0
        else:
            if not length.strip().isdigit():
                raise ValueError("invalid Content-Length: %r" % length)
            self.length = int(length)
        self._left = 0 if self.chunked else self.length
        self.received = 0
        self.finished = self.length == 0

    def _next_chunk(self):
        line = self._rfile.readline(65537)
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError as exc:
            raise IncompleteBody("bad chunk header %r" % line) from exc
        if size == 0:
            while self._rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            self.finished = True
        self._left = size

    def read(self, size):
        """Up to size bytes; b'' once the body is over."""
        if self.finished:
            return b""
        if self.chunked and self._left == 0:
            self._next_chunk()
            if self.finished:
                return b""
        want = min(size, self._left)
        if self._bucket is not None:
            want = self._bucket.piece_size(want)
        data = self._rfile.read(want)
        if not data:
            raise IncompleteBody("connection closed after %d body bytes" % self.received)
        if self._bucket is not None:
            self._bucket.consume(len(data))
            self._count(len(data))
        self.received += len(data)
        self._left -= len(data)
        if self._left == 0:
            if self.chunked:
                self._rfile.readline(65537)
            else:
                self.finished = True
        return data

    def blocks(self, size):
        while True:
            data = self.read(size)
            if not data:
                return
            yield data

    def read_all(self, limit):
        parts = []
        total = 0
        for block in self.blocks(64 * 1024):
            total += len(block)
            if total > limit:
                raise invalid("The request body is larger than %d bytes" % limit)
            parts.append(block)
        return b"".join(parts)

    def read_until(self, count):
        """Read and discard up to count bytes (used to drop a connection mid-body)."""
        while self.received < count and self.read(min(1024 * 1024, count - self.received)):
            pass

    def drain(self):
        for _block in self.blocks(1024 * 1024):
            pass


class GlacierRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "glacier-endpoint/" + __version__
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 300

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # The listening socket does not handshake in accept(), so a slow client cannot stall the others.
            self.connection.do_handshake()
        self.read_bucket = TokenBucket(self.server.network)
        self.write_bucket = TokenBucket(self.server.network)
        self.store = self.server.store
        self.s3 = self.server.s3

    def do_GET(self):
        self._dispatch()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    def log_request(self, code="-", size="-"):
        """Replaced by the one line _dispatch writes."""

    def log_message(self, format, *args):
        LOG.debug("%s %s", self.address_string(), format % args)

    # -- request flow ----------------------------------------------------------------------------

    def _dispatch(self):
        started = time.monotonic()
        self.operation = None
        self.status = None
        self.sent = 0
        self.flags = {}
        self.responded = False
        self.note = ""
        self.s3_region = None
        url = urlsplit(self.path)
        self.query = {key: values[-1] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        is_control = url.path == "/_control" or url.path.startswith("/_control/")
        if is_control:
            self.service = "control"
        elif s3_routes.is_glacier(self.headers, url.path, self.query):
            self.service = "glacier"
        else:
            self.service = "s3"
        self.request_id = ids.new_s3_request_id() if self.service == "s3" else ids.new_request_id()
        try:
            self.body = RequestBody(self, shaped=not is_control)
        except ValueError as exc:
            self.close_connection = True
            self.body = None
            self._send_error(GlacierError(400, "BadRequest", str(exc)))
            self._log(started)
            return
        try:
            if is_control:
                self.operation = "Control"
                control.handle(self, url.path)
            elif self.service == "glacier":
                self._glacier(url.path)
            else:
                try:
                    s3_handler.handle(self, url)
                except GlacierError as err:
                    self._send_error(err)
        except DropConnection:
            self.close_connection = True
            self._shutdown_socket()
        except (ConnectionError, socket.timeout, IncompleteBody) as exc:
            self.close_connection = True
            self.note = " client-gone(%s)" % exc
        except Exception:
            # A bug here must not kill the connection thread silently: answer as AWS would.
            LOG.error("internal error handling %s %s:\n%s", self.command, self.path, traceback.format_exc())
            if self.responded:
                self.close_connection = True
            elif self.service == "s3":
                self._send_error(S3Error(500, "InternalError", "We encountered an internal error. Please try again."))
            else:
                self._send_error(GlacierError(500, "InternalFailure", "The request processing has failed because of an unknown error.", "Server"))
        finally:
            if not self.close_connection and not self.body.finished:
                try:
                    self.body.drain()
                except (ConnectionError, socket.timeout, IncompleteBody):
                    self.close_connection = True
            self._log(started)

    def _glacier(self, path):
        route = routes.match(self.command, path, self.query)
        self.operation = route.operation
        server = self.server
        server.counters.request(route.operation, "glacier")
        server.network.delay()
        fault = server.faults.take(route.operation, "glacier")
        try:
            if fault is not None:
                self.apply_fault(fault)
            self._check_common(route)
            operation = OPERATIONS.get(route.operation)
            if operation is None:
                if route.operation == "Unknown":
                    raise GlacierError(400, "UnknownOperationException", "No Glacier operation matches %s %s" % (self.command, path))
                raise GlacierError(400, "UnsupportedOperation", "%s is not implemented by this local endpoint" % route.operation)
            operation(self, route)
        except GlacierError as err:
            self._send_error(err)

    def apply_fault(self, fault):
        self.server.counters.fault(fault.kind, self.service)
        self.note = " fault=%s#%d" % (fault.kind, fault.fault_id)
        if fault.kind in ERROR_KINDS:
            raise fault.error(self.service)
        if fault.kind == "drop":
            if self.body.length is None or self.body.length > 0:
                self.body.read_until((self.body.length or 2) // 2)
                raise DropConnection()
            if self.operation in STREAMED_OUTPUT:
                self.flags["drop"] = True
                return
            raise DropConnection()
        if fault.kind == "slow":
            self.flags["slow"] = fault.delay
        elif fault.kind == "hold":
            self.flags["hold"] = fault
        elif fault.kind == "corrupt":
            self.flags["corrupt"] = True

    def _check_common(self, route):
        if not self.headers.get("Authorization") and "X-Amz-Signature" not in self.query:
            # Signatures are not verified, but unsigned requests are refused as AWS refuses them.
            raise GlacierError(400, "MissingAuthenticationTokenException", "Missing Authentication Token")
        version = self.headers.get("x-amz-glacier-version")
        if version is None:
            raise GlacierError(400, "MissingParameterValueException", "Required parameter missing: x-amz-glacier-version")
        if version.strip() != API_VERSION:
            raise invalid("Invalid x-amz-glacier-version: %s" % version)
        if route.account not in ("-", self.store.account_id):
            raise GlacierError(403, "AccessDeniedException", "Access denied for account ID %s in the request URI" % route.account)

    def _shutdown_socket(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- responses -------------------------------------------------------------------------------

    def _send_error(self, err):
        if self.operation != "Control":
            self.server.counters.error(err.code, self.service)
        if self.body is not None and not self.body.finished and not self.close_connection and getattr(err, "drain", True):
            # The client sends its whole body before it reads a reply; read it so it sees this one.
            try:
                self.body.drain()
            except (ConnectionError, socket.timeout, IncompleteBody):
                self.close_connection = True
                return
        self.note += " %s" % err.code
        if self.service == "s3":
            headers = dict(getattr(err, "headers", {}))
            if err.close:
                headers["Connection"] = "close"
            fields = getattr(err, "fields", {})
            if err.status in (304,) or self.command == "HEAD":
                # HEAD answers (and 304) carry no body: clients read the status alone.
                self.respond(err.status, headers, content_type="application/xml" if err.status != 304 else None)
                return
            body = error_document(err.code, err.message, self.request_id, ids.new_host_id(), fields)
            self.respond(err.status, headers, body, content_type="application/xml")
            return
        headers = {"x-amzn-ErrorType": err.code}
        if err.close:
            headers["Connection"] = "close"
        self.respond(err.status, headers, err.body())

    def _start_response(self, status, headers, length, content_type):
        delay = self.flags.pop("slow", None)
        if delay:
            time.sleep(delay)
        held = self.flags.pop("hold", None)
        if held is not None:
            self.server.faults.waiting(held, self.operation)
        self.send_response(status)
        if self.service == "s3":
            self.send_header("x-amz-request-id", self.request_id)
            self.send_header("x-amz-id-2", ids.new_host_id())
        else:
            self.send_header("x-amzn-RequestId", self.request_id)
            self.send_header("x-amz-request-id", self.request_id)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            if value is not None:
                self.send_header(name, value)
        self.end_headers()
        self.status = status
        self.responded = True

    def _write(self, data):
        shaped = self.operation != "Control"
        view = memoryview(data)
        while view:
            piece = view[:self.write_bucket.piece_size(WRITE_PIECE) if shaped else len(view)]
            if shaped:
                self.write_bucket.consume(len(piece))
            self.wfile.write(piece)
            view = view[len(piece):]
            self.sent += len(piece)
            if shaped:
                self.server.counters.sent(len(piece), self.service)

    def respond(self, status, headers=None, body=None, content_type=None):
        """A complete small response; a dict or list body is sent as JSON."""
        data = b""
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode("utf-8")
            content_type = "application/json"
        elif body:
            data = body
        if self.command == "HEAD":
            data = b""
        self._start_response(status, headers, len(data), content_type)
        if data:
            self._write(data)

    def respond_head(self, status, headers, length, content_type):
        """HeadObject: the headers of the would-be GET, Content-Length included, and no body."""
        self._start_response(status, headers, length, content_type)

    def respond_stream(self, status, headers, length, chunks, content_type):
        """A response whose body comes from disk block by block (GetJobOutput, GetObject)."""
        self._start_response(status, headers, length, content_type)
        drop_at = length // 2 if self.flags.get("drop") else None
        corrupt = self.flags.get("corrupt", False)
        written = 0
        for block in chunks:
            if corrupt and block:
                # The header keeps the tree hash of the true data, so a careful client notices.
                block = bytes([block[0] ^ 0xFF]) + block[1:]
                corrupt = False
            if drop_at is not None and written + len(block) >= drop_at:
                self._write(block[:drop_at - written])
                raise DropConnection()
            self._write(block)
            written += len(block)

    def _log(self, started):
        elapsed = time.monotonic() - started
        level = logging.INFO
        if self.server.quiet or self.operation == "Control":
            level = logging.DEBUG
        received = self.body.received if self.body is not None else 0
        LOG.log(level, "%s %s %s %s -> %s in=%d out=%d %.3fs%s", self.client_address[0], self.command, self.path.split("?")[0],
                self.operation, self.status or "dropped", received, self.sent, elapsed, self.note)
        if LOG.isEnabledFor(logging.DEBUG):
            LOG.debug("request headers: %s", dict(self.headers.items()))


class GlacierHTTPServer(ThreadingHTTPServer):
    """Threaded server holding the shared state the handlers use."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, store, faults, network, counters, quiet=False, s3=None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.store = store
        self.s3 = s3
        self.faults = faults
        self.network = network
        self.counters = counters
        self.quiet = quiet
        super().__init__(address, GlacierRequestHandler)

    def handle_error(self, request, client_address):
        LOG.debug("connection from %s ended with an error:\n%s", client_address, traceback.format_exc())
