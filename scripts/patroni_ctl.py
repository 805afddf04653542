#!/usr/bin/python3
"""Small Patroni/ZooKeeper helper for local-cluster.sh: REST health, leader, switchover, restart.

Standard library only, except `leader-zk`, which uses kazoo (a dependency of Debian's patroni package).
Every network call has a timeout. Exit status: 0 success, 1 condition not met / request failed, 2 usage.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request


def http(method, url, body=None, timeout=3.0):
    """(status, text) of one request; status 0 when nothing answered."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (OSError, ValueError) as e:
        return 0, str(e)


def cluster_view(apis):
    """GET /cluster from the first API that answers, or None."""
    for api in apis:
        status, text = http("GET", f"http://{api}/cluster")
        if status == 200:
            try:
                return json.loads(text)
            except ValueError:
                continue
    return None


def cmd_health(args):
    """Healthy: exactly one API says /primary 200, every other says /replica 200, and /cluster names a
    sync_standby (with synchronous_mode, Patroni will not fail over until one is assigned)."""
    primaries, replicas, problems = [], [], []
    for api in args.api:
        if http("GET", f"http://{api}/primary")[0] == 200:
            primaries.append(api)
        elif http("GET", f"http://{api}/replica")[0] == 200:
            replicas.append(api)
        else:
            problems.append(api)
    view = cluster_view(args.api) or {}
    members = view.get("members", [])
    sync = [m["name"] for m in members if m.get("role") == "sync_standby"]
    ok = len(primaries) == 1 and not problems and len(replicas) == len(args.api) - 1
    if args.require_sync and len(args.api) > 1:
        ok = ok and len(sync) >= 1
    summary = ", ".join(f"{m.get('name')}={m.get('role')}/{m.get('state')}" for m in members) or "no /cluster view"
    print(("healthy: " if ok else "not healthy: ") + summary)
    return 0 if ok else 1


def cmd_cluster(args):
    view = cluster_view(args.api)
    if view is None:
        print("no Patroni REST API answered: " + " ".join(args.api))
        return 1
    print(json.dumps(view, indent=2, sort_keys=True))
    return 0


def cmd_leader_rest(args):
    view = cluster_view(args.api)
    for m in (view or {}).get("members", []):
        if m.get("role") in ("leader", "master", "primary"):
            print(m["name"])
            return 0
    return 1


def cmd_leader_zk(args):
    try:
        from kazoo.client import KazooClient
        from kazoo.exceptions import NoNodeError
    except ImportError:
        print("kazoo is not importable by " + sys.executable, file=sys.stderr)
        return 1
    import logging
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)  # one line of our own instead of its retries
    zk = KazooClient(hosts=args.hosts, timeout=3.0, connection_retry={"max_tries": 2})
    try:
        zk.start(timeout=args.timeout)
    except Exception as e:  # kazoo raises its own timeout types
        print(f"cannot connect to ZooKeeper {args.hosts}: {e or type(e).__name__}", file=sys.stderr)
        return 1
    try:
        data, _ = zk.get(args.path)
        print(data.decode())
        return 0
    except NoNodeError:
        return 1
    finally:
        zk.stop()
        zk.close()


def cmd_switchover(args):
    view = cluster_view(args.api)
    if view is None:
        print("no Patroni REST API answered", file=sys.stderr)
        return 1
    members = view.get("members", [])
    leader = next((m["name"] for m in members if m.get("role") in ("leader", "master", "primary")), None)
    if leader is None:
        print("the cluster has no leader: cannot switch over", file=sys.stderr)
        return 1
    candidate = args.candidate or next(
        (m["name"] for m in members if m["name"] != leader and m.get("role") == "sync_standby"),
        next((m["name"] for m in members if m["name"] != leader), None))
    if candidate is None:
        print("no candidate besides the leader", file=sys.stderr)
        return 1
    leader_api = next((m.get("api_url") for m in members if m["name"] == leader), None)
    base = leader_api.rsplit("/patroni", 1)[0] if leader_api else f"http://{args.api[0]}"
    status, text = http("POST", f"{base}/switchover", {"leader": leader, "candidate": candidate},
                        timeout=args.timeout)
    print(f"switchover {leader} -> {candidate}: HTTP {status} {text.strip()}")
    return 0 if status in (200, 202) else 1


def cmd_restart(args):
    """POST /restart to one node's API (Patroni answers once PostgreSQL is up again), then wait until
    its GET /patroni says `running`; both within --timeout seconds."""
    import time
    deadline = time.monotonic() + args.timeout
    status, text = http("POST", f"http://{args.api}/restart", {}, timeout=args.timeout)
    print(f"restart {args.api}: HTTP {status} {text.strip()}")
    if status != 200:
        return 1
    state = "?"
    while time.monotonic() < deadline:
        code, body = http("GET", f"http://{args.api}/patroni", timeout=min(3.0, max(0.1, deadline - time.monotonic())))
        if code in (200, 503):
            try:
                state = json.loads(body).get("state", "?")
            except ValueError:
                state = "?"
            if state == "running":
                return 0
        time.sleep(0.2)
    print(f"{args.api}: PostgreSQL not running {args.timeout:.0f} s after the restart request (state {state})", file=sys.stderr)
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("health"); h.add_argument("api", nargs="+"); h.add_argument("--no-sync", dest="require_sync", action="store_false")
    h.set_defaults(func=cmd_health)
    c = sub.add_parser("cluster"); c.add_argument("api", nargs="+"); c.set_defaults(func=cmd_cluster)
    lr = sub.add_parser("leader-rest"); lr.add_argument("api", nargs="+"); lr.set_defaults(func=cmd_leader_rest)
    lz = sub.add_parser("leader-zk"); lz.add_argument("hosts"); lz.add_argument("path")
    lz.add_argument("--timeout", type=float, default=2.0); lz.set_defaults(func=cmd_leader_zk)
    s = sub.add_parser("switchover"); s.add_argument("api", nargs="+"); s.add_argument("--candidate")
    s.add_argument("--timeout", type=float, default=60.0); s.set_defaults(func=cmd_switchover)
    r = sub.add_parser("restart"); r.add_argument("api"); r.add_argument("--timeout", type=float, default=90.0)
    r.set_defaults(func=cmd_restart)
    args = p.parse_args()
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
