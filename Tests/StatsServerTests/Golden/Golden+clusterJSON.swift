// Generated: SWITCHMAN_UPDATE_GOLDEN=1 swift test --filter GoldenTests (review the diff before committing).
extension Golden {
    static let clusterJSON = #"""
{
  "schema_version": 1,
  "generated_at": 1700000000.25,
  "process": {
    "version": "0.1.0",
    "pid": 4242,
    "threads": 2,
    "start_time": 1699726395,
    "uptime_seconds": 273605.25,
    "config_file": "/etc/switchman/switchman.yaml",
    "last_reload": {
      "time": 1699996400,
      "ok": false,
      "message": "switchman.yaml:12: listeners[1].max_lag: not a size"
    },
    "reloads_total": 3,
    "reload_failures_total": 1,
    "log_lines_dropped_total": 12
  },
  "cluster": {
    "scope": "demo",
    "namespace": "/service",
    "zookeeper_hosts": [
      "zk1:2181",
      "zk2:2181"
    ],
    "zookeeper_session": "connected",
    "last_event_time": 1699999998.5,
    "leader": {
      "name": "pg-b",
      "since": 1699999904.5,
      "confirmed": true,
      "confirmed_at": 1699999904.62
    },
    "generation": 7,
    "leader_changes_total": 2,
    "zookeeper_disconnects_total": 1,
    "zookeeper_session_expiries_total": 0,
    "on_dcs_loss": "verify",
    "leader_disagreements_total": 0,
    "split_brains_total": 0,
    "dcs_loss_write_cuts_total": 0
  },
  "listeners": [
    {
      "name": "primary",
      "bind": "0.0.0.0:5432",
      "role": "primary",
      "route": {
        "state": "ready",
        "reason": null,
        "servers": [
          "pg-b"
        ]
      },
      "paused": false,
      "sessions": {
        "current": 12,
        "max": 500,
        "total": 10234,
        "per_second": 3.25
      },
      "held": 0,
      "queued": 0,
      "bytes_in": 1234567890,
      "bytes_out": 9876543210,
      "bytes_in_per_second": 20480.4,
      "bytes_out_per_second": 1572864,
      "connect_errors": 4,
      "retries": 3,
      "stale_sessions_closed": 17,
      "sessions_moved_by_route_change": 0,
      "client_address_tagged": 0,
      "client_address_untagged_encrypted": 0,
      "sessions_refused": 1,
      "cancel_requests_forwarded": 5
    },
    {
      "name": "replicas",
      "bind": "0.0.0.0:5433",
      "role": "replica",
      "route": {
        "state": "ready",
        "reason": null,
        "servers": [
          "pg-a"
        ]
      },
      "paused": false,
      "sessions": {
        "current": 3,
        "max": null,
        "total": 77,
        "per_second": 0.1
      },
      "held": 0,
      "queued": 0,
      "bytes_in": 1000,
      "bytes_out": 2048000,
      "bytes_in_per_second": 12.5,
      "bytes_out_per_second": 0,
      "connect_errors": 0,
      "retries": 0,
      "stale_sessions_closed": 0,
      "sessions_moved_by_route_change": 0,
      "client_address_tagged": 0,
      "client_address_untagged_encrypted": 0,
      "sessions_refused": 0,
      "cancel_requests_forwarded": 0
    },
    {
      "name": "legacy",
      "bind": "127.0.0.1:6000",
      "role": "static",
      "route": {
        "state": "unavailable",
        "reason": "no server reachable <all 1 down>",
        "servers": []
      },
      "paused": false,
      "sessions": {
        "current": 0,
        "max": null,
        "total": 0,
        "per_second": 0
      },
      "held": 0,
      "queued": 0,
      "bytes_in": 0,
      "bytes_out": 0,
      "bytes_in_per_second": 0,
      "bytes_out_per_second": 0,
      "connect_errors": 9,
      "retries": 0,
      "stale_sessions_closed": 0,
      "sessions_moved_by_route_change": 0,
      "client_address_tagged": 0,
      "client_address_untagged_encrypted": 0,
      "sessions_refused": 9,
      "cancel_requests_forwarded": 0
    }
  ],
  "members": [
    {
      "name": "pg-b",
      "address": "10.0.0.2:5432",
      "listener": null,
      "role": "master",
      "state": "running",
      "timeline": 3,
      "lag_bytes": null,
      "lag_seconds": null,
      "check_failures_total": 0,
      "tags": [],
      "leader": true,
      "status": "UP",
      "status_reason": null,
      "admin_state": "ready",
      "last_status_change": 1699999904.62,
      "sessions": {
        "current": 12,
        "total": 4000
      },
      "bytes_in": 1000000,
      "bytes_out": 50000000,
      "checks": [
        {
          "name": "sql",
          "ok": true,
          "time": 1699999904.62,
          "duration": 0.004,
          "detail": "pg_is_in_recovery() = false"
        }
      ]
    },
    {
      "name": "pg-a",
      "address": "10.0.0.1:5432",
      "listener": null,
      "role": "replica",
      "state": "running",
      "timeline": 3,
      "lag_bytes": 0,
      "lag_seconds": null,
      "check_failures_total": 0,
      "tags": [
        "nofailover"
      ],
      "leader": false,
      "status": "UP",
      "status_reason": null,
      "admin_state": "ready",
      "last_status_change": 1699999920,
      "sessions": {
        "current": 3,
        "total": 6311
      },
      "bytes_in": 1000,
      "bytes_out": 2048000,
      "checks": []
    },
    {
      "name": "<script>alert(\"x\")</script>&'",
      "address": "10.0.0.3:5432",
      "listener": null,
      "role": "replica",
      "state": "running",
      "timeline": 2,
      "lag_bytes": 33554432,
      "lag_seconds": null,
      "check_failures_total": 0,
      "tags": [
        "noloadbalance",
        "nosync"
      ],
      "leader": false,
      "status": "EXCLUDED",
      "status_reason": "lag 32.0 MiB > max_lag 16.0 MiB; tag \"noloadbalance\"",
      "admin_state": "ready",
      "last_status_change": 1699992800,
      "sessions": {
        "current": 0,
        "total": 0
      },
      "bytes_in": 0,
      "bytes_out": 0,
      "checks": []
    },
    {
      "name": "pg-d",
      "address": null,
      "listener": null,
      "role": null,
      "state": null,
      "timeline": null,
      "lag_bytes": null,
      "lag_seconds": null,
      "check_failures_total": 0,
      "tags": [],
      "leader": false,
      "status": "EXCLUDED",
      "status_reason": "invalid member JSON: unexpected end of input",
      "admin_state": "ready",
      "last_status_change": null,
      "sessions": {
        "current": 0,
        "total": 0
      },
      "bytes_in": 0,
      "bytes_out": 0,
      "checks": []
    },
    {
      "name": "10.9.9.9:5432",
      "address": "10.9.9.9:5432",
      "listener": "legacy",
      "role": null,
      "state": null,
      "timeline": null,
      "lag_bytes": null,
      "lag_seconds": null,
      "check_failures_total": 0,
      "tags": [],
      "leader": false,
      "status": "DOWN",
      "status_reason": "connect: Connection refused",
      "admin_state": "ready",
      "last_status_change": 1699999988,
      "sessions": {
        "current": 0,
        "total": 0
      },
      "bytes_in": 0,
      "bytes_out": 0,
      "checks": []
    }
  ],
  "events": [
    {
      "time": 1699999998.5,
      "kind": "zookeeper",
      "message": "reconnected to zk2:2181 within the session",
      "leader_change": null
    },
    {
      "time": 1699999904.5,
      "kind": "leader_change",
      "message": "leader pg-a -> pg-b",
      "leader_change": {
        "old_leader": "pg-a",
        "new_leader": "pg-b",
        "generation": 7,
        "sessions_closed": 17,
        "time_to_confirmation": 0.12
      }
    },
    {
      "time": 1699999903,
      "kind": "leader_change",
      "message": "leader znode deleted",
      "leader_change": {
        "old_leader": "pg-a",
        "new_leader": null,
        "generation": 6,
        "sessions_closed": 0,
        "time_to_confirmation": null
      }
    },
    {
      "time": 1699996400,
      "kind": "reload",
      "message": "rejected: switchman.yaml:12: listeners[1].max_lag: not a size",
      "leader_change": null
    },
    {
      "time": 1699992800,
      "kind": "backend_status",
      "message": "<script>alert(\"x\")</script>&' EXCLUDED: lag\nsecond line",
      "leader_change": null
    }
  ],
  "loops": [
    {
      "id": 0,
      "heartbeat_age": 0.2,
      "sessions": 9
    },
    {
      "id": 1,
      "heartbeat_age": 0.6,
      "sessions": 6
    }
  ]
}

"""#
}
