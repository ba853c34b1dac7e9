"""Local stand-ins for the central log stores the audit shipper sends to.

No real Splunk or Elasticsearch can run where these tests run (no Docker, no internet beyond
package registries), so this one small HTTP server answers as the vendors document:

- Splunk HTTP Event Collector: POST /services/collector/event (Authorization: Splunk <token>,
  JSON event objects concatenated), with indexer acknowledgement when asked
  (X-Splunk-Request-Channel, {"ackId": N}, POST /services/collector/ack). Status codes and
  {"text", "code"} answers as in Splunk's "Troubleshoot HTTP Event Collector" table.
- Elasticsearch / OpenSearch: POST /_bulk and /<index>/_bulk (NDJSON, Content-Type
  application/x-ndjson), per-item results in "items" as the bulk API documents them (201
  created, 409 version_conflict_engine_exception for an existing _id under "create", 429
  es_rejected_execution_exception, 400 document_parsing_exception), PUT /_index_template/<name>
  and PUT /_ilm/policy/<name> with the request shapes checked. The shapes are those of Elastic's
  published API description (elastic/elasticsearch-specification: _global.bulk OperationBase /
  WriteOperation / ResponseItem, the indices.put_index_template request body and
  IndexTemplateMapping, ilm Policy / Phases / Phase / Actions / RolloverAction), written down
  here in code: the description itself is not vendored and CI has no internet.
- OTLP/HTTP logs: POST /v1/logs with application/x-protobuf (decoded with the official
  opentelemetry-proto package's ExportLogsServiceRequest) or application/json (parsed into the
  same message), answering ExportLogsServiceResponse in the request's encoding.

Everything received is kept in memory and read by the test with GET /_test/received; faults are
set with POST /_test/faults; any request that breaks the documented shape is refused the way the
vendor would refuse it and listed under "violations", which the tests assert empty.

Usage: receivers.py PORT
"""

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

LOCK = threading.Lock()
STATE = {
    # What arrived, per receiver, in arrival order.
    "hec": [],  # {"channel", "envelope"} per accepted event
    "hec_requests": [],  # {"status", "channel", "events"} per request to /event
    "hec_ack_queries": [],  # request bodies of /ack
    "es": {},  # index -> {_id: doc}
    "es_order": [],  # {"index", "_id"} per created document, in arrival order
    "es_requests": [],  # {"status", "items": [(id, status)]} per bulk request
    "es_templates": {},
    "es_ilm": {},
    "otlp": [],  # {"content_type", "request": ExportLogsServiceRequest as a dict}
    "otlp_requests": [],  # {"status", "content_type"}
    "violations": [],
}
CONFIG = {
    "hec_token": "test-hec-token",
    "hec_ack": False,
    # Acknowledgements answer false this many times per ackId before true.
    "hec_ack_pending": 0,
    # Statuses the next /event requests answer instead of taking them (503, 403, ...).
    "hec_request_faults": [],
    # Failures quote the request's Authorization header back (a misbehaving proxy).
    "hec_echo_auth": False,
    # event_ids HEC refuses as invalid (400 code 6 with invalid-event-number), every time.
    "hec_invalid_events": [],
    "es_api_key": None,
    # Statuses the next _bulk requests answer whole (429, 503).
    "es_request_faults": [],
    # _id -> list of per-item statuses, one consumed per appearance (429, 400); "400!" sticks.
    "es_item_faults": {},
    "otlp_request_faults": [],  # 503 or 429, answered with Retry-After
    "otlp_retry_after": "1",
    # Answer partial_success with this many rejected records (once).
    "otlp_partial_reject": 0,
}
ACK = {"next": 0, "pending": {}}  # ackId -> answers still false

HEC_ERRORS = {
    400: (6, "Invalid data format"),
    401: (2, "Token is required"),
    403: (4, "Invalid token"),
    503: (9, "Server is busy"),
}


def violation(text):
    with LOCK:
        STATE["violations"].append(text)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        sys.stderr.write("receivers: " + (format % args) + "\n")

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, payload, content_type="application/json", headers=()):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    # ---- control -------------------------------------------------------------------------

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/_test/received":
            with LOCK:
                snapshot = json.loads(json.dumps(STATE))
            return self.answer(200, snapshot)
        if path == "/services/collector/health":
            return self.answer(200, {"text": "HEC is healthy", "code": 17})
        if path == "/":
            return self.answer(200, {"tagline": "You Know, for Search"})
        self.answer(404, {"error": "no route"})

    def do_PUT(self):
        path = urlparse(self.path).path
        raw = self.body()
        if path.startswith("/_index_template/"):
            return self.index_template(path.rsplit("/", 1)[1], raw)
        if path.startswith("/_ilm/policy/"):
            return self.ilm_policy(path.rsplit("/", 1)[1], raw)
        self.answer(404, {"error": "no route"})

    def do_POST(self):
        url = urlparse(self.path)
        raw = self.body()
        if url.path == "/_test/faults":
            with LOCK:
                CONFIG.update(json.loads(raw))
            return self.answer(200, CONFIG)
        if url.path in ("/services/collector/event", "/services/collector/event/1.0"):
            return self.hec_event(url, raw)
        if url.path == "/services/collector/ack":
            return self.hec_ack(url, raw)
        if url.path == "/_bulk" or url.path.endswith("/_bulk"):
            index = url.path[1:-len("/_bulk")] if url.path != "/_bulk" else None
            return self.es_bulk(index, raw)
        if url.path == "/v1/logs":
            return self.otlp_logs(raw)
        self.answer(404, {"error": "no route"})

    # ---- Splunk HEC ----------------------------------------------------------------------

    def hec_error(self, status, code=None, text=None):
        default_code, default_text = HEC_ERRORS.get(status, (8, "Internal server error"))
        self.answer(status, {"text": text or default_text, "code": code if code is not None else default_code})

    def hec_auth(self):
        auth = self.headers.get("Authorization")
        if not auth:
            self.hec_error(401)
            return False
        scheme, _, token = auth.partition(" ")
        if scheme != "Splunk":
            violation(f"HEC Authorization scheme {scheme!r}, not 'Splunk'")
            self.hec_error(401, 3, "Invalid authorization")
            return False
        if token != CONFIG["hec_token"]:
            self.hec_error(403)
            return False
        return True

    def hec_channel(self, url):
        return self.headers.get("X-Splunk-Request-Channel") or parse_qs(url.query).get("channel", [None])[0]

    def hec_event(self, url, raw):
        if not self.hec_auth():
            return
        channel = self.hec_channel(url)
        with LOCK:
            fault = CONFIG["hec_request_faults"].pop(0) if CONFIG["hec_request_faults"] else None
        if fault is not None:
            with LOCK:
                STATE["hec_requests"].append({"status": fault, "channel": channel, "events": []})
            if CONFIG["hec_echo_auth"]:
                # A proxy in front of HEC that quotes the request back, credentials included.
                return self.hec_error(fault, text=f"Server is busy; request was Authorization: {self.headers.get('Authorization')}")
            return self.hec_error(fault)
        if CONFIG["hec_ack"] and not channel:
            return self.hec_error(400, 10, "Data channel is missing")
        text = raw.decode("utf-8")
        if not text.strip():
            return self.hec_error(400, 5, "No data")
        # Event objects are concatenated (a newline between them is usual, not required).
        decoder = json.JSONDecoder()
        events, pos = [], 0
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                break
            try:
                obj, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                violation(f"HEC body not JSON objects: {e}")
                return self.hec_error(400, 6, "Invalid data format")
            if not isinstance(obj, dict):
                violation("HEC event not an object")
                return self.hec_error(400, 6, "Invalid data format")
            if "event" not in obj:
                return self.hec_error(400, 12, "Event field is required")
            if obj["event"] in ("", None, {}):
                return self.hec_error(400, 13, "Event field cannot be blank")
            for key in obj:
                if key not in ("time", "host", "source", "sourcetype", "index", "event", "fields"):
                    violation(f"HEC envelope key {key!r} is not one Splunk documents")
            if "time" in obj and not isinstance(obj["time"], (int, float, str)):
                violation("HEC time is not epoch seconds")
            if "fields" in obj:
                fields = obj["fields"]
                if not isinstance(fields, dict) or any(isinstance(v, dict) for v in fields.values()):
                    violation("HEC fields must be a flat object (no nested objects)")
            event_id = obj["event"].get("event_id") if isinstance(obj["event"], dict) else None
            if event_id is not None and event_id in CONFIG["hec_invalid_events"]:
                # Splunk processes the events before the invalid one and says which it was.
                invalid = len(events)
                with LOCK:
                    for taken in events:
                        STATE["hec"].append({"channel": channel, "envelope": taken})
                    STATE["hec_requests"].append({"status": 400, "channel": channel, "events": invalid})
                return self.answer(400, {"text": "Invalid data format", "code": 6, "invalid-event-number": invalid})
            events.append(obj)
        with LOCK:
            for obj in events:
                STATE["hec"].append({"channel": channel, "envelope": obj})
            STATE["hec_requests"].append({"status": 200, "channel": channel, "events": len(events)})
            answer = {"text": "Success", "code": 0}
            if CONFIG["hec_ack"]:
                ack_id = ACK["next"]
                ACK["next"] += 1
                ACK["pending"][ack_id] = CONFIG["hec_ack_pending"]
                answer["ackId"] = ack_id
        self.answer(200, answer)

    def hec_ack(self, url, raw):
        if not self.hec_auth():
            return
        if not CONFIG["hec_ack"]:
            return self.hec_error(400, 14, "ACK is disabled")
        if not self.hec_channel(url):
            return self.hec_error(400, 10, "Data channel is missing")
        try:
            asked = json.loads(raw)["acks"]
            assert isinstance(asked, list) and all(isinstance(a, int) for a in asked)
        except Exception:
            violation(f"HEC ack body is not {{\"acks\": [int, ...]}}: {raw[:200]!r}")
            return self.hec_error(400, 6, "Invalid data format")
        answer = {}
        with LOCK:
            STATE["hec_ack_queries"].append(asked)
            for ack_id in asked:
                left = ACK["pending"].get(ack_id)
                if left is None:
                    answer[str(ack_id)] = False
                elif left > 0:
                    ACK["pending"][ack_id] = left - 1
                    answer[str(ack_id)] = False
                else:
                    answer[str(ack_id)] = True
        self.answer(200, {"acks": answer})

    # ---- Elasticsearch _bulk -------------------------------------------------------------

    def es_error(self, status, kind, reason):
        self.answer(status, {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason}, "status": status})

    def es_auth(self):
        key = CONFIG["es_api_key"]
        if key is None:
            return True
        if self.headers.get("Authorization") != f"ApiKey {key}":
            self.es_error(401, "security_exception", "unable to authenticate")
            return False
        return True

    def es_bulk(self, path_index, raw):
        if not self.es_auth():
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type not in ("application/x-ndjson", "application/json"):
            violation(f"_bulk Content-Type {content_type!r}")
            return self.es_error(406, "media_type_header_exception", f"Content-Type header [{content_type}] is not supported")
        if content_type != "application/x-ndjson":
            violation("_bulk should be sent as application/x-ndjson")
        with LOCK:
            fault = CONFIG["es_request_faults"].pop(0) if CONFIG["es_request_faults"] else None
        if fault is not None:
            with LOCK:
                STATE["es_requests"].append({"status": fault, "items": []})
            if fault == 429:
                return self.es_error(429, "es_rejected_execution_exception", "rejected execution of coordinating operation")
            return self.es_error(fault, "unavailable_shards_exception", "primary shard is not active")
        text = raw.decode("utf-8")
        if not text.endswith("\n"):
            violation("_bulk body does not end with a newline")
            return self.es_error(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
        lines = text[:-1].split("\n")
        started = time.monotonic()
        items, record, errors = [], [], False
        i = 0
        while i < len(lines):
            try:
                action = json.loads(lines[i])
            except json.JSONDecodeError as e:
                violation(f"_bulk action line {i} not JSON: {e}")
                return self.es_error(400, "x_content_parse_exception", str(e))
            if not isinstance(action, dict) or len(action) != 1:
                violation(f"_bulk action line {i} must be an object with one key: {lines[i][:200]}")
                return self.es_error(400, "illegal_argument_exception", "Malformed action/metadata line")
            (op, meta), = action.items()
            if op not in ("create", "index", "update", "delete"):
                violation(f"_bulk action {op!r}")
                return self.es_error(400, "illegal_argument_exception", f"Unknown key for a START_OBJECT in [{op}].")
            if op != "create":
                violation(f"the shipper must use create (so that _id dedups), not {op}")
            index = meta.get("_index") or path_index
            doc_id = meta.get("_id")
            if not index:
                violation("_bulk action without _index")
                return self.es_error(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
            if not isinstance(doc_id, str) or not doc_id:
                violation("_bulk create without a string _id (the event_id)")
            for key in meta:
                if key not in ("_index", "_id", "routing", "pipeline", "require_alias", "dynamic_templates", "list_executed_pipelines", "if_seq_no", "if_primary_term", "version", "version_type"):
                    violation(f"_bulk action metadata key {key!r}")
            if op == "delete":
                i += 1
                continue
            if i + 1 >= len(lines):
                violation("_bulk action without its document line")
                return self.es_error(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
            try:
                doc = json.loads(lines[i + 1])
            except json.JSONDecodeError as e:
                violation(f"_bulk document line {i + 1} not JSON: {e}")
                return self.es_error(400, "x_content_parse_exception", str(e))
            i += 2
            with LOCK:
                queue = CONFIG["es_item_faults"].get(doc_id) or []
                item_fault = queue[0] if queue else None
                if item_fault is not None and item_fault != "400!":
                    queue.pop(0)
                existing = STATE["es"].setdefault(index, {})
                if item_fault in (400, "400!"):
                    status = 400
                    error = {"type": "document_parsing_exception", "reason": f"[1:2] failed to parse field [parameters] of type [keyword] in document with id '{doc_id}'. Preview of field's value: '{{}}'", "caused_by": {"type": "illegal_state_exception", "reason": "Can't get text on a START_OBJECT at 1:2"}}
                elif item_fault == 429:
                    status = 429
                    error = {"type": "es_rejected_execution_exception", "reason": "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]"}
                elif doc_id in existing and op == "create":
                    status = 409
                    error = {"type": "version_conflict_engine_exception", "reason": f"[{doc_id}]: version conflict, document already exists (current version [1])", "index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA", "shard": "0", "index": index}
                else:
                    status, error = 201, None
                    existing[doc_id] = doc
                    STATE["es_order"].append({"index": index, "_id": doc_id})
                record.append([doc_id, status])
            item = {"_index": index, "_id": doc_id, "status": status}
            if error:
                item["error"] = error
                errors = True
            else:
                item.update({"_version": 1, "result": "created", "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": len(record) - 1, "_primary_term": 1})
            items.append({op: item})
        with LOCK:
            STATE["es_requests"].append({"status": 200, "items": record})
        took = int((time.monotonic() - started) * 1000)
        self.answer(200, {"took": took, "errors": errors, "items": items})

    def index_template(self, name, raw):
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as e:
            violation(f"index template not JSON: {e}")
            return self.es_error(400, "x_content_parse_exception", str(e))
        problems = []
        for key in body:
            if key not in ("index_patterns", "composed_of", "template", "data_stream", "priority", "version", "_meta", "allow_auto_create", "ignore_missing_component_templates", "deprecated"):
                problems.append(f"unknown key {key!r}")
        patterns = body.get("index_patterns")
        if not (isinstance(patterns, str) or (isinstance(patterns, list) and patterns and all(isinstance(p, str) for p in patterns))):
            problems.append("index_patterns must be a string or a non-empty list of strings")
        template = body.get("template", {})
        if not isinstance(template, dict) or any(k not in ("settings", "mappings", "aliases", "lifecycle", "data_stream_options") for k in template):
            problems.append("template holds only settings, mappings, aliases, lifecycle")
        if "priority" in body and not isinstance(body["priority"], int):
            problems.append("priority must be an integer")
        if problems:
            violation(f"index template {name}: " + "; ".join(problems))
            return self.es_error(400, "x_content_parse_exception", "; ".join(problems))
        with LOCK:
            STATE["es_templates"][name] = body
        self.answer(200, {"acknowledged": True})

    def ilm_policy(self, name, raw):
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as e:
            violation(f"ILM policy not JSON: {e}")
            return self.es_error(400, "x_content_parse_exception", str(e))
        problems = []
        if set(body) != {"policy"}:
            problems.append("the body is {\"policy\": {...}}")
        policy = body.get("policy", {})
        if not isinstance(policy, dict) or any(k not in ("phases", "_meta") for k in policy):
            problems.append("policy holds phases and _meta")
        elif "phases" not in policy:
            problems.append("policy.phases is required")
        phases = policy.get("phases", {}) if isinstance(policy, dict) else {}
        for phase, spec in phases.items():
            if phase not in ("hot", "warm", "cold", "frozen", "delete"):
                problems.append(f"unknown phase {phase!r}")
                continue
            if any(k not in ("min_age", "actions") for k in spec):
                problems.append(f"phase {phase} holds min_age and actions")
            age = spec.get("min_age")
            if age is not None and not (isinstance(age, str) and re.fullmatch(r"\d+(d|h|m|s|ms|micros|nanos)", age)):
                problems.append(f"phase {phase} min_age {age!r} is not a duration")
            for action in spec.get("actions", {}):
                if action not in ("allocate", "delete", "downsample", "freeze", "forcemerge", "migrate", "readonly", "rollover", "set_priority", "searchable_snapshot", "shrink", "unfollow", "wait_for_snapshot"):
                    problems.append(f"phase {phase}: unknown action {action!r}")
            rollover = spec.get("actions", {}).get("rollover", {})
            for key in rollover:
                if key not in ("max_size", "max_primary_shard_size", "max_age", "max_docs", "max_primary_shard_docs", "min_size", "min_primary_shard_size", "min_age", "min_docs", "min_primary_shard_docs"):
                    problems.append(f"phase {phase}: unknown rollover condition {key!r}")
        if problems:
            violation(f"ILM policy {name}: " + "; ".join(problems))
            return self.es_error(400, "x_content_parse_exception", "; ".join(problems))
        with LOCK:
            STATE["es_ilm"][name] = body
        self.answer(200, {"acknowledged": True})

    # ---- OTLP/HTTP logs ------------------------------------------------------------------

    def otlp_logs(self, raw):
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        request = logs_service_pb2.ExportLogsServiceRequest()
        try:
            if content_type == "application/x-protobuf":
                request.ParseFromString(raw)
            elif content_type == "application/json":
                json_format.Parse(raw, request)
            else:
                violation(f"OTLP Content-Type {content_type!r}")
                return self.answer(415, b"", "text/plain")
        except Exception as e:  # DecodeError / ParseError
            violation(f"OTLP body does not decode as ExportLogsServiceRequest: {e}")
            return self.otlp_answer(400, content_type, status_message=str(e))
        with LOCK:
            fault = CONFIG["otlp_request_faults"].pop(0) if CONFIG["otlp_request_faults"] else None
        if fault is not None:
            with LOCK:
                STATE["otlp_requests"].append({"status": fault, "content_type": content_type})
            return self.otlp_answer(fault, content_type, status_message="unavailable", retry_after=CONFIG["otlp_retry_after"])
        response = logs_service_pb2.ExportLogsServiceResponse()
        with LOCK:
            STATE["otlp"].append({"content_type": content_type, "request": json_format.MessageToDict(request, preserving_proto_field_name=True)})
            STATE["otlp_requests"].append({"status": 200, "content_type": content_type})
            rejected = CONFIG["otlp_partial_reject"]
            CONFIG["otlp_partial_reject"] = 0
        if rejected:
            response.partial_success.rejected_log_records = rejected
            response.partial_success.error_message = "log records rejected by the test receiver"
        if content_type == "application/json":
            return self.answer(200, json_format.MessageToJson(response).encode(), "application/json")
        self.answer(200, response.SerializeToString(), "application/x-protobuf")

    def otlp_answer(self, status, content_type, status_message, retry_after=None):
        # Failures carry a google.rpc.Status in the request's encoding (OTLP/HTTP "Failures").
        headers = [("Retry-After", retry_after)] if retry_after else []
        code = 14 if status == 503 else 8 if status == 429 else 3  # UNAVAILABLE, RESOURCE_EXHAUSTED, INVALID_ARGUMENT
        if content_type == "application/json":
            return self.answer(status, json.dumps({"code": code, "message": status_message}).encode(), "application/json", headers)
        # Status { int32 code = 1; string message = 2; }, encoded by hand (google.rpc is not
        # part of opentelemetry-proto): tag 0x08 varint, tag 0x12 length-delimited.
        message = status_message.encode()
        payload = bytes([0x08, code, 0x12]) + varint(len(message)) + message
        self.answer(status, payload, "application/x-protobuf", headers)


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
