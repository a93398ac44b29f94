"""One app task for tests/prometheus_tasks.rs: a real prometheus_client exporter.

    exporter.py ADDR PORT

serves the default registry (with these metrics) at http://ADDR:PORT/metrics and prints
"ready" once bound ("bind failed: ..." and exit 2 when the port is taken). The test then drives
its counts through stdin, one command a line, each acknowledged with "ok" on stdout:

    serve COUNT ERRORS SECONDS   count COUNT requests, ERRORS of them errors, each observed
                                 in the latency histogram as taking SECONDS
    inflight N                   set the in-flight gauge

It exits when stdin closes, so a test that dies leaves no exporter behind.
"""

import sys

from prometheus_client import Counter, Gauge, Histogram, start_http_server

REQUESTS = Counter("http_requests", "Requests served.")
ERRORS = Counter("http_request_errors", "Requests that failed.")
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to serve a request.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0),
)
INFLIGHT = Gauge("http_requests_inflight", "Requests being served.")


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    try:
        start_http_server(port, addr=addr)
    except OSError as e:
        print(f"bind failed: {e}", flush=True)
        sys.exit(2)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["serve"]:
            count, errors, seconds = int(words[1]), int(words[2]), float(words[3])
            REQUESTS.inc(count)
            ERRORS.inc(errors)
            for _ in range(count):
                LATENCY.observe(seconds)
        elif words[:1] == ["inflight"]:
            INFLIGHT.set(float(words[1]))
        else:
            print(f"unknown command: {line.strip()}", flush=True)
            continue
        print("ok", flush=True)


if __name__ == "__main__":
    main()
