"""Fuzz the running service with Schemathesis: every operation of the OpenAPI spec, positive and
negative inputs, with and without the bearer token; then the hostile payloads of
``reliability_payloads.py`` (SSRF, runaway and bomb queries, oversized bodies, XML entities, a pixel
bomb). Goal: no 500 over >= 10,000 requests (a 503 is the answer to a query stopped at its deadline),
no address contacted, the server up and its memory flat.

Requests and responses are recorded as a HAR file and counted from it, so the figure is what was
actually sent, not what was planned.

    python scripts/reliability_fuzz.py --max-examples 600
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "fuzz-token"


def main() -> None:
    from scripts.reliability_load import seed_store
    from tests.servers import mcrag_server

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-examples", type=int, default=600, help="test cases per operation and pass")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--max-time", type=int, default=0, help="seconds per pass; fuzzing repeats until spent (0: off)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--payload-rounds", type=int, default=20, help="rounds of the hostile payloads (0: none)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "reliability_fuzz.json")
    args = ap.parse_args()
    st = Path(sys.executable).parent / "st"
    statuses: Counter[int] = Counter()
    per_op: Counter[str] = Counter()
    five_xx: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "store"
        seed_store(folder, 100)
        from kg.store import open_store

        with open_store(folder) as store:
            real_id = store.select("SELECT ?c WHERE { ?c a mcrag:CausalClaim ; mcrag:status mcrag:proposed } "
                                   "ORDER BY ?c LIMIT 1")[0]["c"].rsplit("/", 1)[1]
        config = Path(tmp) / "schemathesis.toml"
        config.write_text(f'[parameters]\nclaim_id = "{real_id}"\n')
        auth = ["-H", f"Authorization: Bearer {TOKEN}"]
        passes = (("token, a real claim id", auth, ["--config-file", str(config)]),
                  ("token, generated ids", auth, []), ("anonymous", [], []))
        with mcrag_server(folder, env={"MCRAG_TOKEN": TOKEN, "MCRAG_QUERY_TIMEOUT": "5"}) as root:
            for i, (label, headers, config_args) in enumerate(passes):
                har = Path(tmp) / f"run-{i}.har"
                cmd = [str(st), *config_args, "run", f"{root}/openapi.json", "--checks", "not_a_server_error",
                       "--max-examples", str(args.max_examples), "--workers", str(args.workers),
                       "--seed", str(args.seed), "--mode", "all", "--phases", "examples,coverage,fuzzing",
                       "--suppress-health-check", "all", "--report", "har", "--report-har-path", str(har),
                       "--generation-database", "none", "--request-timeout", "60", *headers]
                if args.max_time:
                    cmd += ["--max-time", str(args.max_time)]
                print(f"fuzzing ({label}) ...", flush=True)
                subprocess.run(cmd, check=False, env={**os.environ, "NO_COLOR": "1"})
                entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
                for e in entries:
                    code = int(e["response"]["status"])
                    statuses[code] += 1
                    path = e["request"]["url"].split(root, 1)[-1].split("?", 1)[0]
                    per_op[f"{e['request']['method']} {path}"] += 1
                    if code >= 500:
                        five_xx.append({"method": e["request"]["method"], "url": e["request"]["url"][:300],
                                        "status": code, "body": e["response"]["content"].get("text", "")[:300]})
            hostile = None
            if args.payload_rounds:
                import psutil

                from scripts.reliability_payloads import attack

                server = next(p for p in psutil.Process().children() if "serve" in " ".join(p.cmdline()))
                print(f"hostile payloads x{args.payload_rounds} ...", flush=True)
                hostile = attack(root, TOKEN, rounds=args.payload_rounds, server_pid=server.pid)
                statuses.update({int(k): v for k, v in hostile["status_counts"].items()})
    total = sum(statuses.values())
    payload = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": f"{os.cpu_count()} cores, loopback",
               "command": "python scripts/reliability_fuzz.py " + " ".join(sys.argv[1:]),
               "requests": total, "responses_5xx": sum(v for k, v in statuses.items() if k >= 500),
               "responses_500": sum(v for k, v in statuses.items() if k >= 500 and k != 503),
               "responses_503": statuses.get(503, 0),
               "no_response": statuses.get(0, 0), "hostile_payloads": hostile,
               "status_counts": dict(sorted(statuses.items())), "first_5xx": five_xx[:20],
               "passes": [p[0] for p in passes]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    print(json.dumps({k: v for k, v in payload.items() if k != "first_5xx"}, indent=1))


if __name__ == "__main__":
    main()
