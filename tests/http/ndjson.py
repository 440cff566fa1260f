"""A streamed answer of the HTTP API (NDJSON) read line by line as it comes,
for the integration suites' own scripts (run with PYTHONPATH=tests/http)."""
import json


def stream_lines(resp, on_line=None):
    """Every line of resp, decoded, until the end; on_line(d), if given, sees
    each as it arrives (to act before the stream goes on)."""
    lines = []
    while True:
        raw = resp.readline()
        if not raw:
            return lines
        d = json.loads(raw)
        lines.append(d)
        if on_line:
            on_line(d)
