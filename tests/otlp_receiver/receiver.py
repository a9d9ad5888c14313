#!/usr/bin/env python3
"""A small OTLP metrics receiver for integration tests.

Serves on 127.0.0.1:
  * gRPC  opentelemetry.proto.collector.metrics.v1.MetricsService/Export
  * HTTP  POST /v1/metrics (application/x-protobuf or application/json, optional gzip)
and a control API on the HTTP port:
  GET  /received  -> JSON list of every accepted export request, oldest first:
       {"seq", "time" (Unix seconds), "monotonic" (seconds on the receiver's monotonic clock,
        for the gaps between requests), "protocol": "grpc"|"http/protobuf"|"http/json",
        "headers": {lowercased name: value} (gRPC: metadata; grpc core strips grpc-* and
        content-type), "gzip": bool, "fault": null | the fault applied,
        "request": MessageToDict(ExportMetricsServiceRequest, preserving_proto_field_name=True)
                   (int64 values are strings, enums are names)}
  GET  /rejected  -> requests answered 400/415/INVALID_ARGUMENT (undecodable), with the error
  POST /reset     -> clear /received and /rejected (the fault mode is kept)
  POST /decode    -> the OTLP/JSON request in the body, decoded as /received shows requests
                     (not recorded)
  GET  /fault     -> current fault mode
  POST /fault     -> set the fault mode for the next requests on both transports:
       {"mode": "none"}
       {"mode": "status", "http_status": 503, "retry_after": "1", "grpc_code": "UNAVAILABLE", "count": N}
       {"mode": "delay", "seconds": 2.5, "count": N}
       {"mode": "blackhole"}      (hold requests unanswered until the next POST /fault)
       status takes "message" (HTTP body, gRPC status message; default "fault injected")
       {"mode": "redirect", "http_status": 307, "location": "http://..."}  (HTTP only)
       {"mode": "partial", "rejected": 3, "message": "..."}  (partial_success, both)
       {"mode": "garbage", "bytes": N}  (HTTP 200 with N bytes that do not parse; gRPC a
                                         response with an N-byte warning message)
       "count" = number of requests the fault applies to; absent = until changed.

Usage: receiver.py [--grpc-port N] [--http-port M] [--no-stdin-watch] [--verbose]
                   [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
(port 0 = pick a free port). On startup prints exactly one line to stdout:
{"grpc_port": N, "http_port": M, "https_port": K or null}.
With --tls-cert and --tls-key, gRPC is served over TLS only (grpc.ssl_server_credentials)
and POST /v1/metrics also over HTTPS on a port of its own (https_port; the control API stays
on the plain http_port); --tls-client-ca requires a client certificate signed by that CA on
both. A failed handshake is recorded in /rejected as {"status": "tls", "error": ...}. Exits on SIGTERM/SIGINT and when stdin reaches EOF
(unless --no-stdin-watch), so a dying test harness does not leak it.
"""
import argparse
import gzip
import json
import os
import signal
import ssl
import sys
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as pb

GRPC_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
VERBOSE = False


def log(*args):
    if VERBOSE:
        print("receiver:", *args, file=sys.stderr, flush=True)


class State:
    """Recorded requests and the current fault mode, shared by both transports."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records = []
        self.rejected = []  # requests answered 400/415 (not counted as received)
        self.fault = {"mode": "none"}
        self.release = threading.Event()  # set to free blackholed requests

    def set_fault(self, fault):
        with self.lock:
            self.fault = fault
            self.release.set()  # free requests held by a previous blackhole
            self.release = threading.Event()

    def take_fault(self):
        """Return the fault to apply to this request (or None) and consume one count."""
        with self.lock:
            f = self.fault
            if f["mode"] == "none":
                return None, None
            applied = dict(f)
            applied.pop("count", None)
            if "count" in f:
                f["count"] -= 1
                if f["count"] <= 0:
                    self.fault = {"mode": "none"}
            return applied, self.release

    def record(self, protocol, headers, gzipped, request, fault):
        # The request is turned into a dict when it is read (GET /received), not here: the
        # conversion of a large request is slow and must not delay the exporter's answer.
        with self.lock:
            self.records.append({
                "seq": len(self.records), "time": time.time(), "monotonic": time.monotonic(),
                "protocol": protocol,
                "headers": headers, "gzip": gzipped, "fault": fault, "request": request,
            })

    def received(self):
        with self.lock:
            records = list(self.records)
        return [dict(r, request=json_format.MessageToDict(r["request"],
                                                          preserving_proto_field_name=True))
                for r in records]


STATE = State()


def validate_fault(body):
    mode = body.get("mode")
    if mode == "none":
        return {"mode": "none"}
    if mode == "status":
        f = {"mode": "status", "http_status": int(body.get("http_status", 503)),
             "grpc_code": str(body.get("grpc_code", "UNAVAILABLE")).upper()}
        grpc.StatusCode[f["grpc_code"]]  # KeyError if unknown
        if body.get("retry_after") is not None:
            f["retry_after"] = str(body["retry_after"])
        f["message"] = str(body.get("message", "fault injected"))
    elif mode == "redirect":
        f = {"mode": "redirect", "http_status": int(body["http_status"]),
             "location": str(body["location"])}
    elif mode == "partial":
        f = {"mode": "partial", "rejected": int(body["rejected"]),
             "message": str(body.get("message", ""))}
    elif mode == "garbage":
        f = {"mode": "garbage", "bytes": int(body["bytes"])}
    elif mode == "delay":
        f = {"mode": "delay", "seconds": float(body["seconds"])}
    elif mode == "blackhole":
        return {"mode": "blackhole"}
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if body.get("count") is not None:
        f["count"] = int(body["count"])
    return f


def hold_blackhole(release, alive=lambda: True):
    """Block until the fault mode is changed (or the client went away)."""
    while not release.wait(0.2):
        if not alive():
            return


def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num, payload):  # length-delimited field
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def status_with_retry_info(code, message, seconds):
    """google.rpc.Status{code, message, details=[Any(RetryInfo{retry_delay})]}, hand-encoded."""
    secs, nanos = int(seconds), int(round((seconds - int(seconds)) * 1e9))
    duration = _varint(1 << 3) + _varint(secs) + (_varint(2 << 3) + _varint(nanos) if nanos else b"")
    retry_info = _field(1, duration)
    any_msg = _field(1, b"type.googleapis.com/google.rpc.RetryInfo") + _field(2, retry_info)
    return _varint(1 << 3) + _varint(code) + _field(2, message.encode()) + _field(3, any_msg)


def grpc_export(raw, context):
    """MetricsService/Export. grpc core strips grpc-encoding from the metadata, so the server
    runs with per-message decompression off and we gunzip (gzip magic 1f 8b) ourselves."""
    headers = {}
    for k, v in context.invocation_metadata():
        v = v.hex() if isinstance(v, bytes) else v
        headers[k.lower()] = f"{headers[k.lower()]}, {v}" if k.lower() in headers else v
    gzipped = raw[:2] == b"\x1f\x8b"  # never a valid protobuf start (wire type 7)
    request = pb.ExportMetricsServiceRequest()
    try:
        request.ParseFromString(gzip.decompress(raw) if gzipped else raw)
    except Exception as e:
        with STATE.lock:
            STATE.rejected.append({"status": "INVALID_ARGUMENT", "headers": headers,
                                   "error": f"{type(e).__name__}: {e}"})
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"cannot decode request: {e}")
    fault, release = STATE.take_fault()
    STATE.record("grpc", headers, gzipped, request, fault)
    log("grpc export, fault", fault)
    if fault and fault["mode"] == "delay":
        time.sleep(fault["seconds"])
    elif fault and fault["mode"] == "blackhole":
        hold_blackhole(release, context.is_active)
        context.abort(grpc.StatusCode.UNAVAILABLE, "blackhole released")
    elif fault and fault["mode"] == "status":
        code = grpc.StatusCode[fault["grpc_code"]]
        if fault.get("retry_after"):
            details = status_with_retry_info(code.value[0], fault["message"],
                                             float(fault["retry_after"]))
            context.set_trailing_metadata((("grpc-status-details-bin", details),))
        context.abort(code, fault["message"])
    return export_response(fault)


def export_response(fault):
    """The answer to a delivered export: a partial success if the fault asks for one."""
    resp = pb.ExportMetricsServiceResponse()
    if fault and fault["mode"] == "garbage":  # gRPC: a valid but huge response
        resp.partial_success.error_message = "x" * fault["bytes"]
    if fault and fault["mode"] == "partial":
        resp.partial_success.rejected_data_points = fault["rejected"]
        resp.partial_success.error_message = fault["message"]
    return resp


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "otlp-test-receiver"

    def log_message(self, fmt, *args):
        log(fmt % args)

    def reply(self, status, body=b"", content_type="application/json", extra=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The exporter gave up on a delayed answer (its timeout): expected, not an error.
            self.close_connection = True

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self):
        if self.path == "/received":
            self.reply(200, STATE.received())
        elif self.path == "/rejected":
            with STATE.lock:
                self.reply(200, list(STATE.rejected))
        elif self.path == "/fault":
            with STATE.lock:
                self.reply(200, dict(STATE.fault))
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        body = self.read_body()
        if self.path == "/v1/metrics":
            return self.export(body)
        if self.path == "/reset":
            with STATE.lock:
                STATE.records.clear()
                STATE.rejected.clear()
            return self.reply(200, {"ok": True})
        if self.path == "/decode":
            # An OTLP/JSON request decoded as an export of it would be, not recorded: what a
            # file holds, to compare with what arrived.
            request = pb.ExportMetricsServiceRequest()
            try:
                json_format.Parse(body, request)
            except Exception as e:
                return self.reply(400, {"error": f"{type(e).__name__}: {e}"})
            return self.reply(200, json_format.MessageToDict(request,
                                                            preserving_proto_field_name=True))
        if self.path == "/fault":
            try:
                fault = validate_fault(json.loads(body or b"{}"))
            except (ValueError, KeyError, TypeError) as e:
                return self.reply(400, {"error": f"bad fault: {e!r}"})
            STATE.set_fault(fault)
            return self.reply(200, {"ok": True, "fault": fault})
        self.reply(404, {"error": "not found"})

    def export(self, body):
        headers = {}
        for k, v in self.headers.items():
            headers[k.lower()] = f"{headers[k.lower()]}, {v}" if k.lower() in headers else v
        gzipped = headers.get("content-encoding", "").lower() == "gzip"
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        request = pb.ExportMetricsServiceRequest()
        try:
            if gzipped:
                body = gzip.decompress(body)
            if ctype == "application/x-protobuf":
                protocol = "http/protobuf"
                request.ParseFromString(body)
            elif ctype == "application/json":
                protocol = "http/json"
                json_format.Parse(body, request)  # strict: unknown fields raise ParseError
            else:
                return self.reject(415, headers, f"unsupported content-type {ctype!r}")
        except Exception as e:  # bad gzip, protobuf DecodeError, json ParseError
            return self.reject(400, headers, f"{type(e).__name__}: {e}")
        fault, release = STATE.take_fault()
        STATE.record(protocol, headers, gzipped, request, fault)
        log(protocol, "export, fault", fault)
        if fault and fault["mode"] == "delay":
            time.sleep(fault["seconds"])
        elif fault and fault["mode"] == "blackhole":
            hold_blackhole(release)
            self.close_connection = True  # drop the connection without an answer
            return
        elif fault and fault["mode"] == "status":
            extra = [("Retry-After", fault["retry_after"])] if fault.get("retry_after") else []
            return self.reply(fault["http_status"], fault["message"].encode(), "text/plain", extra)
        elif fault and fault["mode"] == "redirect":
            return self.reply(fault["http_status"], b"", "text/plain",
                              [("Location", fault["location"])])
        elif fault and fault["mode"] == "garbage":
            return self.reply(200, b"\xff" * fault["bytes"], "application/x-protobuf")
        resp = export_response(fault)
        if protocol == "http/json":
            self.reply(200, json_format.MessageToJson(resp).encode(), "application/json")
        else:
            self.reply(200, resp.SerializeToString(), "application/x-protobuf")

    def reject(self, status, headers, error):
        log("rejected:", status, error)
        with STATE.lock:
            STATE.rejected.append({"status": status, "headers": headers, "error": error})
        self.reply(status, error.encode(), "text/plain")


class TlsHTTPServer(ThreadingHTTPServer):
    """POST /v1/metrics over TLS. The handshake runs on the connection's own thread, so a
    client that fails it (or never speaks) holds up no other connection."""

    def __init__(self, address, handler, context):
        super().__init__(address, handler)
        self.context = context

    def finish_request(self, request, client_address):
        try:
            request.settimeout(10)
            request = self.context.wrap_socket(request, server_side=True)
            request.settimeout(None)
        except (ssl.SSLError, OSError) as e:
            log("TLS handshake failed:", e)
            with STATE.lock:
                STATE.rejected.append({"status": "tls", "headers": {}, "error": str(e)})
            return
        super().finish_request(request, client_address)


def tls_context(cert, key, client_ca):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grpc-port", type=int, default=0)
    ap.add_argument("--http-port", type=int, default=0)
    ap.add_argument("--no-stdin-watch", action="store_true",
                    help="do not exit when stdin is closed (for manual runs in the background)")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    ap.add_argument("--tls-cert", help="PEM certificate chain: serve gRPC and HTTPS with TLS")
    ap.add_argument("--tls-key", help="PEM private key of --tls-cert")
    ap.add_argument("--tls-client-ca", help="PEM CA: require client certificates it signed")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        sys.exit("--tls-cert and --tls-key go together")
    VERBOSE = args.verbose

    big = 64 * 1024 * 1024
    handler = grpc.method_handlers_generic_handler(GRPC_SERVICE, {
        "Export": grpc.unary_unary_rpc_method_handler(
            grpc_export, request_deserializer=None,  # raw bytes, see grpc_export
            response_serializer=lambda m: m.SerializeToString())})
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), handlers=[handler],
                              options=[("grpc.max_receive_message_length", big),
                                       ("grpc.max_send_message_length", big),
                                       ("grpc.per_message_decompression", 0)])
    if args.tls_cert:
        credentials = grpc.ssl_server_credentials(
            [(read_file(args.tls_key), read_file(args.tls_cert))],
            root_certificates=read_file(args.tls_client_ca) if args.tls_client_ca else None,
            require_client_auth=bool(args.tls_client_ca))
        grpc_port = grpc_server.add_secure_port(f"127.0.0.1:{args.grpc_port}", credentials)
    else:
        grpc_port = grpc_server.add_insecure_port(f"127.0.0.1:{args.grpc_port}")
    if grpc_port == 0:
        sys.exit(f"cannot bind gRPC port {args.grpc_port}")
    grpc_server.start()

    http_server = ThreadingHTTPServer(("127.0.0.1", args.http_port), Handler)
    http_server.daemon_threads = True
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    https_port = None
    if args.tls_cert:
        context = tls_context(args.tls_cert, args.tls_key, args.tls_client_ca)
        https_server = TlsHTTPServer(("127.0.0.1", 0), Handler, context)
        https_server.daemon_threads = True
        threading.Thread(target=https_server.serve_forever, daemon=True).start()
        https_port = https_server.server_address[1]

    def shutdown(*_):
        grpc_server.stop(0)
        os._exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    if not args.no_stdin_watch:
        def watch_stdin():
            while sys.stdin.buffer.read(4096):
                pass
            shutdown()
        threading.Thread(target=watch_stdin, daemon=True).start()

    print(json.dumps({"grpc_port": grpc_port, "http_port": http_server.server_address[1],
                      "https_port": https_port}),
          flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
