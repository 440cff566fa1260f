#!/usr/bin/env python3
"""Independent verifier of a symbi-sandbox audit log (docs/audit-log.md).
Usage: verify.py LOG [KEY_FILE]. Prints "N entries, head HASH"; exit 1 if broken."""
import hashlib, hmac, json, re, sys

def canonical(entry):  # compact, sorted keys, \\uXXXX for non-ASCII, upper-case hex
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return re.sub(r"(\\\\)|\\u([0-9a-f]{4})", lambda m: m.group(1) or "\\u" + m.group(2).upper(), text)

def no_dups(pairs):
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)

key = open(sys.argv[2], "rb").read().rstrip(b"\r\n") if len(sys.argv) > 2 else None
prev, seq, data = "0" * 64, 0, open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"):
    sys.exit("the last line is incomplete")
for n, raw in enumerate(data.split(b"\n")[:-1], 1):
    line = raw.decode("ascii")
    e = json.loads(line, object_pairs_hook=no_dups)
    body = canonical({k: v for k, v in e.items() if k != "hash"}).encode()
    want = hmac.new(key, body, hashlib.sha256).hexdigest() if key else hashlib.sha256(body).hexdigest()
    if (line != canonical(e) or e["seq"] != seq + 1 or e["prev"] != prev or e["hash"] != want
            or (e.get("alg") == "hmac-sha256") != bool(key)):
        sys.exit(f"line {n}: broken")
    prev, seq = e["hash"], e["seq"]
print(f"{seq} entries, head {prev}")
