"""Command line: PYTHONPATH=tests/endpoint python -m glacier_endpoint --data-dir DIR [options]."""

import argparse
import logging
import os
import re
import signal
import ssl
import sys
import threading

from .counters import Counters
from .faults import FaultInjector
from .network import NetworkShaper
from .s3.store import DEFAULT_MIN_PART_SIZE, S3Store
from .server import LOG, GlacierHTTPServer
from .store import Store, atomic_write


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m glacier_endpoint",
        description="Local Amazon Glacier (vault API 2012-06-01) and S3 endpoint for tests and demos, on one port. "
                    "Test knobs live under /_control/ on the same port; see docs/endpoint.md.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default 0)")
    parser.add_argument("--data-dir", required=True, help="directory for archives, uploads, jobs and state.json")
    parser.add_argument("--port-file", help="write the chosen port here (atomically) once listening")
    parser.add_argument("--job-delay", type=float, default=0.0, help="seconds before a job completes (default 0)")
    parser.add_argument("--hold-jobs", action="store_true",
                        help="Glacier jobs stay InProgress until POST /_control/complete-jobs releases them")
    parser.add_argument("--restore-delay", type=float, default=0.0, help="seconds before an S3 restore completes (default 0)")
    parser.add_argument("--hold-restores", action="store_true",
                        help="S3 restores stay ongoing until POST /_control/s3/complete-restores releases them")
    parser.add_argument("--s3-min-part-size", type=int, default=DEFAULT_MIN_PART_SIZE,
                        help="smallest S3 multipart part but the last, in bytes (default 5 MiB, as AWS); lower it to keep tests small")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (botocore then sends aws-chunked trailer checksums)")
    parser.add_argument("--tls-key", help="the PEM private key of --tls-cert (default: in the certificate file)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request in ms (default 0)")
    parser.add_argument("--bandwidth", type=int, default=0, help="per-connection bandwidth cap in bytes/s, 0 for none (default 0)")
    parser.add_argument("--account-id", default="123456789012", help="account id used in ARNs and Location headers")
    parser.add_argument("--region", default="us-east-1", help="region used in ARNs (default us-east-1)")
    parser.add_argument("--verbose", action="store_true", help="log request headers and debugging details too")
    parser.add_argument("--quiet", action="store_true", help="log only start-up, shutdown and errors, not every request")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"\d{12}", args.account_id):
        parser.error("--account-id must be 12 digits")
    if args.job_delay < 0 or args.latency_ms < 0 or args.bandwidth < 0 or args.restore_delay < 0:
        parser.error("--job-delay, --restore-delay, --latency-ms and --bandwidth must not be negative")
    if not 1 <= args.s3_min_part_size <= DEFAULT_MIN_PART_SIZE:
        parser.error("--s3-min-part-size must be from 1 to %d bytes" % DEFAULT_MIN_PART_SIZE)
    if args.tls_key and not args.tls_cert:
        parser.error("--tls-key needs --tls-cert")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s glacier-endpoint %(levelname)s %(message)s")
    store = Store(args.data_dir, args.account_id, args.region, job_delay=args.job_delay, hold_jobs=args.hold_jobs)
    s3 = S3Store(args.data_dir, args.account_id, args.region, min_part_size=args.s3_min_part_size,
                 restore_delay=args.restore_delay, hold_restores=args.hold_restores)
    server = GlacierHTTPServer((args.host, args.port), store, FaultInjector(),
                               NetworkShaper(args.latency_ms, args.bandwidth), Counters(), quiet=args.quiet, s3=s3)
    scheme = "http"
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https"
    store.start()
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="glacier-http", daemon=True)
    serving.start()
    port = server.server_address[1]
    if args.port_file:
        atomic_write(os.path.abspath(args.port_file), b"%d\n" % port)
    host = "[%s]" % args.host if ":" in args.host else args.host
    LOG.info("listening on %s://%s:%d (data %s, account %s, region %s)", scheme, host, port, store.data_dir, args.account_id, args.region)

    stop = threading.Event()

    def request_stop(signum, _frame):
        LOG.info("signal %d received, shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    store.stop()
    LOG.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
