"""Test peer: Smithy RPC v2 CBOR in front of moto, for CloudWatch.

aws-sdk-cloudwatch (Rust) speaks only `smithy-protocol: rpc-v2-cbor`
(POST /service/GraniteServiceVersion20100801/operation/<Operation>); moto speaks CloudWatch's
JSON 1.0 protocol (getmoto/moto#9195). This proxy turns each CBOR request into JSON 1.0 with an
X-Amz-Target header, and the JSON answer back into CBOR, tagging timestamps (CBOR tag 1) where
botocore's model of CloudWatch says the field is a timestamp. Every other request (EC2, RDS,
EKS, Logs, STS) passes through unchanged.

usage: python cbor_shim.py PORT MOTO_URL     (needs cbor2 and botocore, pinned in xtask/peers)
"""
import base64
import datetime
import json
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
import cbor2

CBOR_PATH = "/service/GraniteServiceVersion20100801/operation/"
CLOUDWATCH = botocore.session.get_session().get_service_model("cloudwatch")
DROPPED = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}


def plain(value):
    """CBOR-decoded values as JSON 1.0 wants them (timestamps as epoch seconds)."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def tagged(shape, value):
    """JSON values as CBOR wants them: epoch numbers at timestamp shapes become tag 1."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: tagged(shape.members.get(k), v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [tagged(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: tagged(shape.value, v) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, (int, float)):
        return cbor2.CBORTag(1, value)
    return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = ""

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in DROPPED:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, method, path, headers, body):
        request = urllib.request.Request(self.upstream + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.status, list(answer.headers.items()), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, list(error.headers.items()), error.read()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in DROPPED}
        is_cbor = self.headers.get("smithy-protocol") == "rpc-v2-cbor" and self.path.startswith(CBOR_PATH)
        if not (self.command == "POST" and is_cbor):
            return self.reply(*self.forward(self.command, self.path, headers, body))
        operation = self.path[len(CBOR_PATH):].split("?")[0]
        request = plain(cbor2.loads(body)) if body else {}
        for name in ("content-type", "accept", "smithy-protocol"):
            headers = {k: v for k, v in headers.items() if k.lower() != name}
        headers["X-Amz-Target"] = f"GraniteServiceVersion20100801.{operation}"
        headers["Content-Type"] = "application/x-amz-json-1.0"
        status, answer_headers, answer = self.forward("POST", "/", headers, json.dumps(request).encode())
        try:
            document = json.loads(answer) if answer.strip() else {}
        except ValueError:
            document = {"__type": "InternalFailure", "message": answer.decode(errors="replace")[:300]}
        if status < 300:
            document = tagged(CLOUDWATCH.operation_model(operation).output_shape, document)
        elif "__type" in document:
            document["__type"] = document["__type"].split("#")[-1]
        kept = [(k, v) for k, v in answer_headers if k.lower() in ("x-amzn-requestid", "x-amzn-query-error", "date")]
        kept += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        self.reply(status, kept, cbor2.dumps(document))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


if __name__ == "__main__":
    Handler.upstream = sys.argv[2].rstrip("/")
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
