"""50 concurrent executions released together by a barrier. Prints one JSON
summary; every answer must be a correct result or 429 with Retry-After."""
import json
import sys
import threading
import urllib.error
import urllib.request

base, n = sys.argv[1], int(sys.argv[2])
barrier = threading.Barrier(n)
answers = [None] * n


def one(i):
    body = json.dumps({"code": f"sleep 2; echo req-{i}"}).encode()
    req = urllib.request.Request(base + "/v1/execute", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    barrier.wait()
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            answers[i] = (r.status, json.load(r), r.headers.get("Retry-After"))
    except urllib.error.HTTPError as e:
        answers[i] = (e.code, json.load(e), e.headers.get("Retry-After"))
    except Exception as e:  # noqa: BLE001 - any other failure is a wrong answer
        answers[i] = (0, {"exception": repr(e)}, None)


threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ok = busy = 0
wrong = []
for i, (status, body, retry) in enumerate(answers):
    if status == 200 and body.get("stdout") == f"req-{i}\n" and body.get("exit_code") == 0 \
            and body.get("status") == "exited":
        ok += 1
    elif status == 429 and body.get("error", {}).get("code") == "too_many_requests" \
            and retry and retry.isdigit():
        busy += 1
    else:
        wrong.append([i, status, body])
print(json.dumps({"ok": ok, "busy": busy, "wrong": wrong[:5], "n_wrong": len(wrong)}))
