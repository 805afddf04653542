// Generated: SWITCHMAN_UPDATE_GOLDEN=1 swift test --filter GoldenTests (review the diff before committing).
extension Golden {
    static let clusterEvents = #"""
{
  "schema_version": 1,
  "generated_at": 1700000000.25,
  "failovers": [
    {
      "id": 2,
      "kind": "failover",
      "old_leader": "pg-a",
      "new_leader": "pg-b",
      "old_generation": 5,
      "generation": 7,
      "switchover_requested_at": null,
      "leader_changed_at": 1699999903,
      "confirmed_at": 1699999904.62,
      "old_leader_last_reply_at": 1699999902.2,
      "first_byte_at": 1699999904.63,
      "unavailable_from": 1699999902.2,
      "unavailable_until": 1699999904.63,
      "unavailable_seconds": 2.43,
      "unavailable_until_source": "first_byte",
      "settled": true,
      "sessions_closed": 17,
      "held": {
        "count": 3,
        "timed_out": 0,
        "abandoned": 0,
        "wait_p50": 1.6,
        "wait_p99": 1.7,
        "wait_max": 1.7
      },
      "refused": 1
    },
    {
      "id": 1,
      "kind": "switchover",
      "old_leader": "pg-b",
      "new_leader": "pg-a",
      "old_generation": 4,
      "generation": 5,
      "switchover_requested_at": 1699999300,
      "leader_changed_at": 1699999300.8,
      "confirmed_at": 1699999300.9,
      "old_leader_last_reply_at": 1699999300.5,
      "first_byte_at": 1699999300.92,
      "unavailable_from": 1699999300.5,
      "unavailable_until": 1699999300.92,
      "unavailable_seconds": 0.42,
      "unavailable_until_source": "first_byte",
      "settled": true,
      "sessions_closed": 2,
      "held": {
        "count": 0,
        "timed_out": 0,
        "abandoned": 0,
        "wait_p50": null,
        "wait_p99": null,
        "wait_max": null
      },
      "refused": 0
    }
  ],
  "write_unavailable_seconds": {
    "count": 2,
    "sum": 2.85,
    "buckets": [
      {
        "le": 0.05,
        "count": 0
      },
      {
        "le": 0.1,
        "count": 0
      },
      {
        "le": 0.25,
        "count": 0
      },
      {
        "le": 0.5,
        "count": 1
      },
      {
        "le": 1,
        "count": 1
      },
      {
        "le": 2,
        "count": 1
      },
      {
        "le": 5,
        "count": 2
      },
      {
        "le": 10,
        "count": 2
      },
      {
        "le": 30,
        "count": 2
      },
      {
        "le": 60,
        "count": 2
      },
      {
        "le": 120,
        "count": 2
      },
      {
        "le": "+Inf",
        "count": 2
      }
    ]
  },
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
  ]
}

"""#
}
