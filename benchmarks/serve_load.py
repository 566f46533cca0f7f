"""`matcalc serve` under load, on the loopback address only, in a bounded loop.

Starts `python -m matcalc serve --port 0` as a child (so the client's threads do not share
the server's interpreter lock), then measures:
1. requests per second for a simple query (`x^T A x` by x, the JSON endpoint), for
   `--seconds` seconds at each of 1 and 4 clients on kept-alive connections;
2. the latency of that query alone and while 1 or 3 slow queries run (order-6 Hessians of
   a three-layer network, cut off at the server's `--time-limit`), samples alternating
   alone / beside the slow ones, so both see the same machine load; the medians' ratio
   says how much slow requests slow a fast one down (each computes in a worker process
   of its own, so the price is the cores' sharing; the slow ones' seconds would mean
   that they block it).

    python benchmarks/serve_load.py [--seconds S] [--samples N] [--time-limit T]
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

FAST = "/api/diff?" + urlencode({"expr": "x^T A x", "wrt": "x"})
SLOW = "/api/diff?" + urlencode({"expr": "H1 = tanh(W1 x); H2 = tanh(W2 H1); H3 = tanh(W3 H2); "
                                         "1/2 ||W4 H3 - y||^2", "wrt": "x", "order": 6})


def start_server(time_limit: float) -> tuple:
    process = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--port", "0",
                                "--time-limit", str(time_limit)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = re.search(r"http://(127\.0\.0\.1):(\d+)/", process.stdout.readline())
    if not address:
        process.kill()
        raise SystemExit("matcalc serve did not print its address")
    return process, address.group(1), int(address.group(2))


def fetch(connection: http.client.HTTPConnection, target: str) -> dict:
    connection.request("GET", target)
    return json.loads(connection.getresponse().read())


def throughput(host: str, port: int, clients: int, seconds: float) -> float:
    """Requests answered per second by `clients` threads asking FAST for `seconds`."""
    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    def client(slot: int):
        connection = http.client.HTTPConnection(host, port, timeout=60)
        while time.perf_counter() < deadline:
            assert fetch(connection, FAST)["ok"]
            counts[slot] += 1
        connection.close()
    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def latency(connection: http.client.HTTPConnection) -> float:
    start = time.perf_counter()
    assert fetch(connection, FAST)["ok"]
    return time.perf_counter() - start


def latencies(host: str, port: int, samples: int, slow_count: int) -> tuple:
    """(alone, beside `slow_count` slow queries, how the slow ones ended) in seconds, alternating."""
    connection = http.client.HTTPConnection(host, port, timeout=60)
    alone, beside, slow_outcomes = [], [], []
    for _ in range(samples):
        alone.append(latency(connection))
        sent = threading.Barrier(slow_count + 1)

        def slow():
            slow_connection = http.client.HTTPConnection(host, port, timeout=60)
            slow_connection.request("GET", SLOW)
            sent.wait()
            slow_outcomes.append(json.loads(slow_connection.getresponse().read()))
            slow_connection.close()
        workers = [threading.Thread(target=slow) for _ in range(slow_count)]
        for worker in workers:
            worker.start()
        sent.wait()
        time.sleep(0.2)                  # the slow ones are computing
        beside.append(latency(connection))
        if not all(worker.is_alive() for worker in workers):
            raise SystemExit("a slow query finished before the fast one: raise --time-limit")
        for worker in workers:
            worker.join()
    connection.close()
    return alone, beside, slow_outcomes


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=3.0, help="of each throughput run (default 3)")
    options.add_argument("--samples", type=int, default=5, help="latency pairs (default 5)")
    options.add_argument("--time-limit", type=float, default=1.5, help="the server's budget per request (default 1.5)")
    args = options.parse_args()
    process, host, port = start_server(args.time_limit)
    try:
        warm = http.client.HTTPConnection(host, port, timeout=60)
        fetch(warm, FAST)
        warm.close()
        for clients in (1, 4):
            print(f"{clients} client{'s' if clients > 1 else ''}: {throughput(host, port, clients, args.seconds):.0f} "
                  f"requests/s for x^T A x by x")
        for slow_count in (1, 3):     # 3: every worker but one busy (serve.WORKERS is 4)
            alone, beside, outcomes = latencies(host, port, args.samples, slow_count)
            median_alone, median_beside = statistics.median(alone), statistics.median(beside)
            print(f"latency of x^T A x alone: median {median_alone * 1000:.1f} ms (least {min(alone) * 1000:.1f}); "
                  f"beside {slow_count} order-6 Hessian{'s' if slow_count > 1 else ''} of a 3-layer network: "
                  f"median {median_beside * 1000:.1f} ms (least {min(beside) * 1000:.1f}), "
                  f"ratio {median_beside / median_alone:.1f}")
            cut = sum(outcome.get("error", {}).get("type") == "LimitError" for outcome in outcomes)
            print(f"  the slow queries were cut off at the time limit of {args.time_limit:g} s: "
                  f"{cut} of {len(outcomes)}")
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
