// Generated: SWITCHMAN_UPDATE_GOLDEN=1 swift test --filter GoldenTests (review the diff before committing).
extension Golden {
    static let staticJSON = #"""
{
  "schema_version": 1,
  "generated_at": 1700000000,
  "process": {
    "version": "0.1.0",
    "pid": 1,
    "threads": 1,
    "start_time": 1699999999.5,
    "uptime_seconds": 0.5,
    "config_file": null,
    "last_reload": null,
    "reloads_total": 0,
    "reload_failures_total": 0,
    "log_lines_dropped_total": 0
  },
  "cluster": null,
  "listeners": [
    {
      "name": "web",
      "bind": "[::]:8080",
      "role": "static",
      "route": {
        "state": "ready",
        "reason": null,
        "servers": [
          "127.0.0.1:9000"
        ]
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
      "connect_errors": 0,
      "retries": 0,
      "stale_sessions_closed": 0,
      "sessions_moved_by_route_change": 0,
      "client_address_tagged": 0,
      "client_address_untagged_encrypted": 0,
      "sessions_refused": 0,
      "cancel_requests_forwarded": 0
    }
  ],
  "members": [],
  "events": [],
  "loops": [
    {
      "id": 0,
      "heartbeat_age": 0,
      "sessions": 0
    }
  ]
}

"""#
}
