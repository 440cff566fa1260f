"""Keeps docs/openapi.json true: its routes are exactly the server's routes,
and live answers to a request for every operation have a documented status
and a body that validates against the documented schema.

usage: openapi_check.py DOC ROUTES-FILE BASE-URL
Prints TAP-ish lines "PASS name" / "FAIL name: why" for the shell test."""
import json
import sys
import urllib.error
import urllib.request

doc_path, routes_path, base = sys.argv[1:4]
doc = json.load(open(doc_path))
results = []


def report(name, ok, why=""):
    results.append((name, ok, why))
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + why), flush=True)


def resolve(schema):
    while "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def validate(value, schema, where="$"):
    """A validator for the subset of JSON Schema the document uses."""
    schema = resolve(schema)
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null not allowed"]
    if "oneOf" in schema:
        if sum(1 for s in schema["oneOf"] if not validate(value, s, where)) != 1:
            return [f"{where}: matches not exactly one of oneOf"]
        return []
    t = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t in types and not isinstance(value, types[t]):
        return [f"{where}: expected {t}, got {type(value).__name__}"]
    if t == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        return [f"{where}: expected integer"]
    if t == "number" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        return [f"{where}: expected number"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    errors = []
    if t == "object":
        props = schema.get("properties", {})
        for r in schema.get("required", []):
            if r not in value:
                errors.append(f"{where}: missing required {r}")
        for k, v in value.items():
            if k in props:
                errors += validate(v, props[k], f"{where}.{k}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: undocumented property {k}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += validate(v, schema["additionalProperties"], f"{where}.{k}")
    if t == "array":
        for i, v in enumerate(value):
            errors += validate(v, schema.get("items", {}), f"{where}[{i}]")
    return errors


# 1. The document's routes are the server's routes.
documented = set()
for path, item in doc["paths"].items():
    for method in item:
        if method in ("get", "put", "post", "delete", "patch"):
            documented.add(f"{method.upper()} {path}")
served = set(line.strip() for line in open(routes_path) if line.strip())
report("every served route is documented", served <= documented, str(sorted(served - documented)))
report("every documented route is served", documented <= served, str(sorted(documented - served)))
report("OpenAPI 3 document", doc.get("openapi", "").startswith("3."), doc.get("openapi", ""))
refs = json.dumps(doc)
missing = [r for r in set(x.split('"')[0] for x in refs.split('"$ref": "#/components/schemas/')[1:])
           if r not in doc["components"]["schemas"]]
report("every $ref resolves", not missing, str(missing))


# 2. Live answers match the document.
def call(method, path, body=None, raw=None, headers=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = dict(headers or {})
    if data is not None and "/files/" not in path:
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def check(name, template, method, path, body=None, raw=None, want=None):
    status, ctype, data = call(method, path, body, raw)
    op = doc["paths"][template][method.lower()]
    resp = op["responses"].get(str(status))
    if want is not None and status != want:
        return report(name, False, f"status {status}, expected {want}: {data[:300]!r}")
    if resp is None:
        return report(name, False, f"status {status} is not documented for {method} {template}")
    content = resp.get("content", {})
    media = ctype.split(";")[0].strip()
    if media not in content:
        return report(name, False, f"content type {ctype} not documented ({list(content)})")
    if media == "application/json":
        errs = validate(json.loads(data), content[media]["schema"])
        return report(name, not errs, "; ".join(errs[:3]))
    report(name, True)
    return data


check("GET /v1/health", "/v1/health", "GET", "/v1/health", want=200)
check("GET /metrics", "/metrics", "GET", "/metrics", want=200)
check("POST /v1/execute 200", "/v1/execute", "POST", "/v1/execute",
      {"code": "echo hi; exit 2", "env": {"A": "b"}, "timeout": 10}, want=200)
check("POST /v1/execute 400", "/v1/execute", "POST", "/v1/execute", {"code": 1}, want=400)
status, _, _ = call("GET", "/v1/execute")
report("GET /v1/execute is 405", status == 405, str(status))
check("POST /v1/execute 413", "/v1/execute", "POST", "/v1/execute", raw=b"x" * (2 << 20), want=413)
check("POST /v1/sessions 400", "/v1/sessions", "POST", "/v1/sessions", {"pids": 10 ** 9}, want=400)
status, _, data = call("POST", "/v1/sessions", {"idle_ttl": 60})
sid = json.loads(data).get("id", "x")
check("POST /v1/sessions 201", "/v1/sessions", "POST", "/v1/sessions", {}, want=201)
check("GET /v1/sessions/{id} 200", "/v1/sessions/{id}", "GET", f"/v1/sessions/{sid}", want=200)
check("GET /v1/sessions/{id} 404", "/v1/sessions/{id}", "GET", "/v1/sessions/nope", want=404)
check("PUT file 200", "/v1/sessions/{id}/files/{path}", "PUT",
      f"/v1/sessions/{sid}/files/dir/a.txt", raw=b"abc", want=200)
check("PUT file 400", "/v1/sessions/{id}/files/{path}", "PUT",
      f"/v1/sessions/{sid}/files/%2Fetc%2Fx", raw=b"abc", want=400)
check("POST /v1/sessions/{id}/execute 200", "/v1/sessions/{id}/execute", "POST",
      f"/v1/sessions/{sid}/execute", {"code": "cat dir/a.txt"}, want=200)
check("GET files 200", "/v1/sessions/{id}/files", "GET", f"/v1/sessions/{sid}/files", want=200)
check("GET files?path= 200", "/v1/sessions/{id}/files", "GET",
      f"/v1/sessions/{sid}/files?path=dir", want=200)
data = check("GET file 200", "/v1/sessions/{id}/files/{path}", "GET",
             f"/v1/sessions/{sid}/files/dir/a.txt", want=200)
report("GET file returns the bytes", data == b"abc", repr(data))
check("GET file 404", "/v1/sessions/{id}/files/{path}", "GET",
      f"/v1/sessions/{sid}/files/none", want=404)
check("GET processes 200", "/v1/sessions/{id}/processes", "GET", f"/v1/sessions/{sid}/processes",
      want=200)
# Every backend but process makes sessions live (the processes and contexts
# APIs in depth: tests/integration/live_processes*.sh).
check("POST processes 201", "/v1/sessions/{id}/processes", "POST", f"/v1/sessions/{sid}/processes",
      {"code": "sleep 30"}, want=201)
check("POST processes 400", "/v1/sessions/{id}/processes", "POST", f"/v1/sessions/{sid}/processes",
      {"code": 1}, want=400)
check("GET process 200", "/v1/sessions/{id}/processes/{pid}", "GET",
      f"/v1/sessions/{sid}/processes/p1", want=200)
check("GET process 404", "/v1/sessions/{id}/processes/{pid}", "GET",
      f"/v1/sessions/{sid}/processes/p99", want=404)
check("POST signal 200", "/v1/sessions/{id}/processes/{pid}/signal", "POST",
      f"/v1/sessions/{sid}/processes/p1/signal", {"signal": "TERM"}, want=200)
check("POST signal 404", "/v1/sessions/{id}/processes/{pid}/signal", "POST",
      f"/v1/sessions/{sid}/processes/p99/signal", {"signal": "TERM"}, want=404)
check("GET contexts 200", "/v1/sessions/{id}/contexts", "GET", f"/v1/sessions/{sid}/contexts",
      want=200)
check("POST contexts 201", "/v1/sessions/{id}/contexts", "POST", f"/v1/sessions/{sid}/contexts",
      {"language": "sh"}, want=201)
check("POST contexts 400", "/v1/sessions/{id}/contexts", "POST", f"/v1/sessions/{sid}/contexts",
      {"language": "cobol"}, want=400)
check("DELETE context 200", "/v1/sessions/{id}/contexts/{cid}", "DELETE",
      f"/v1/sessions/{sid}/contexts/c1", want=200)
check("DELETE context 404", "/v1/sessions/{id}/contexts/{cid}", "DELETE",
      f"/v1/sessions/{sid}/contexts/c1", want=404)
check("POST context execute 404", "/v1/sessions/{id}/contexts/{cid}/execute", "POST",
      f"/v1/sessions/{sid}/contexts/c1/execute", {"code": "1"}, want=404)
check("DELETE /v1/sessions/{id} 200", "/v1/sessions/{id}", "DELETE", f"/v1/sessions/{sid}", want=200)
check("DELETE /v1/sessions/{id} 404", "/v1/sessions/{id}", "DELETE", f"/v1/sessions/{sid}", want=404)
check("unknown path 404", "/v1/sessions/{id}", "GET", "/v1/sessions/x/y/z", want=404)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
