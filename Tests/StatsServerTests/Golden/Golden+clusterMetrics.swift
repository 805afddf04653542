// Generated: SWITCHMAN_UPDATE_GOLDEN=1 swift test --filter GoldenTests (review the diff before committing).
extension Golden {
    static let clusterMetrics = #"""
# HELP switchman_build_info Switchman version (always 1).
# TYPE switchman_build_info gauge
switchman_build_info{version="0.1.0"} 1
# HELP switchman_start_time_seconds Process start, seconds since the epoch.
# TYPE switchman_start_time_seconds gauge
switchman_start_time_seconds 1699726395
# HELP switchman_uptime_seconds Seconds since the process started.
# TYPE switchman_uptime_seconds gauge
switchman_uptime_seconds 273605.25
# HELP switchman_event_loops Event loop threads running.
# TYPE switchman_event_loops gauge
switchman_event_loops 2
# HELP switchman_config_reloads_total Configuration reloads attempted.
# TYPE switchman_config_reloads_total counter
switchman_config_reloads_total 3
# HELP switchman_config_reload_failures_total Configuration reloads rejected (the previous configuration stayed).
# TYPE switchman_config_reload_failures_total counter
switchman_config_reload_failures_total 1
# HELP switchman_log_lines_dropped_total Log lines (session log and diagnostics) dropped because their reader fell behind.
# TYPE switchman_log_lines_dropped_total counter
switchman_log_lines_dropped_total 12
# HELP switchman_config_last_reload_successful Whether the last configuration reload was applied (1) or rejected (0).
# TYPE switchman_config_last_reload_successful gauge
switchman_config_last_reload_successful 0
# HELP switchman_config_last_reload_timestamp_seconds Time of the last configuration reload, seconds since the epoch.
# TYPE switchman_config_last_reload_timestamp_seconds gauge
switchman_config_last_reload_timestamp_seconds 1699996400
# HELP switchman_zookeeper_session_state ZooKeeper session state: 1 for the current state, 0 for the others.
# TYPE switchman_zookeeper_session_state gauge
switchman_zookeeper_session_state{scope="demo",state="connecting"} 0
switchman_zookeeper_session_state{scope="demo",state="connected"} 1
switchman_zookeeper_session_state{scope="demo",state="reconnecting"} 0
switchman_zookeeper_session_state{scope="demo",state="expired"} 0
switchman_zookeeper_session_state{scope="demo",state="none"} 0
# HELP switchman_zookeeper_last_event_timestamp_seconds Time of the last ZooKeeper watch or session event, seconds since the epoch.
# TYPE switchman_zookeeper_last_event_timestamp_seconds gauge
switchman_zookeeper_last_event_timestamp_seconds{scope="demo"} 1699999998.5
# HELP switchman_zookeeper_disconnects_total ZooKeeper connection losses.
# TYPE switchman_zookeeper_disconnects_total counter
switchman_zookeeper_disconnects_total{scope="demo"} 1
# HELP switchman_zookeeper_session_expiries_total ZooKeeper session expiries (writes fail closed until a fresh picture).
# TYPE switchman_zookeeper_session_expiries_total counter
switchman_zookeeper_session_expiries_total{scope="demo"} 0
# HELP switchman_cluster_leader The member the leader znode names (always 1; absent without a leader).
# TYPE switchman_cluster_leader gauge
switchman_cluster_leader{scope="demo",member="pg-b"} 1
# HELP switchman_cluster_leader_confirmed Whether a leader exists and its promotion is confirmed over SQL (writes flow only then).
# TYPE switchman_cluster_leader_confirmed gauge
switchman_cluster_leader_confirmed{scope="demo"} 1
# HELP switchman_cluster_leader_since_timestamp_seconds When the current leader was first seen, seconds since the epoch.
# TYPE switchman_cluster_leader_since_timestamp_seconds gauge
switchman_cluster_leader_since_timestamp_seconds{scope="demo"} 1699999904.5
# HELP switchman_cluster_generation Primary generation, bumped on every leader change.
# TYPE switchman_cluster_generation gauge
switchman_cluster_generation{scope="demo"} 7
# HELP switchman_cluster_leader_changes_total Leader changes seen.
# TYPE switchman_cluster_leader_changes_total counter
switchman_cluster_leader_changes_total{scope="demo"} 2
# HELP switchman_cluster_leader_disagreements_total Times the confirmed leader answered pg_is_in_recovery() = true (writes held each time).
# TYPE switchman_cluster_leader_disagreements_total counter
switchman_cluster_leader_disagreements_total{scope="demo"} 0
# HELP switchman_cluster_split_brains_total Times a member other than the leader answered pg_is_in_recovery() = false.
# TYPE switchman_cluster_split_brains_total counter
switchman_cluster_split_brains_total{scope="demo"} 0
# HELP switchman_cluster_dcs_loss_write_cuts_total Times on_dcs_loss: verify cut writes because the leader's SQL or REST check said otherwise.
# TYPE switchman_cluster_dcs_loss_write_cuts_total counter
switchman_cluster_dcs_loss_write_cuts_total{scope="demo"} 0
# HELP switchman_listener_info A configured listener (always 1), with its bind address and role.
# TYPE switchman_listener_info gauge
switchman_listener_info{listener="primary",bind="0.0.0.0:5432",role="primary"} 1
switchman_listener_info{listener="replicas",bind="0.0.0.0:5433",role="replica"} 1
switchman_listener_info{listener="legacy",bind="127.0.0.1:6000",role="static"} 1
# HELP switchman_listener_route_state Route state of a listener: 1 for the current state, 0 for the others.
# TYPE switchman_listener_route_state gauge
switchman_listener_route_state{listener="primary",state="ready"} 1
switchman_listener_route_state{listener="primary",state="hold"} 0
switchman_listener_route_state{listener="primary",state="unavailable"} 0
switchman_listener_route_state{listener="replicas",state="ready"} 1
switchman_listener_route_state{listener="replicas",state="hold"} 0
switchman_listener_route_state{listener="replicas",state="unavailable"} 0
switchman_listener_route_state{listener="legacy",state="ready"} 0
switchman_listener_route_state{listener="legacy",state="hold"} 0
switchman_listener_route_state{listener="legacy",state="unavailable"} 1
# HELP switchman_listener_route_servers Servers the current route may connect to.
# TYPE switchman_listener_route_servers gauge
switchman_listener_route_servers{listener="primary"} 1
switchman_listener_route_servers{listener="replicas"} 1
switchman_listener_route_servers{listener="legacy"} 0
# HELP switchman_listener_paused Whether an operator paused the listener (new connections are held).
# TYPE switchman_listener_paused gauge
switchman_listener_paused{listener="primary"} 0
switchman_listener_paused{listener="replicas"} 0
switchman_listener_paused{listener="legacy"} 0
# HELP switchman_listener_sessions Sessions open now.
# TYPE switchman_listener_sessions gauge
switchman_listener_sessions{listener="primary"} 12
switchman_listener_sessions{listener="replicas"} 3
switchman_listener_sessions{listener="legacy"} 0
# HELP switchman_listener_sessions_limit Per-listener session limit (absent when only the global maxconn applies).
# TYPE switchman_listener_sessions_limit gauge
switchman_listener_sessions_limit{listener="primary"} 500
# HELP switchman_listener_sessions_total Sessions accepted.
# TYPE switchman_listener_sessions_total counter
switchman_listener_sessions_total{listener="primary"} 10234
switchman_listener_sessions_total{listener="replicas"} 77
switchman_listener_sessions_total{listener="legacy"} 0
# HELP switchman_listener_held_connections Connections waiting for a route (failover hold).
# TYPE switchman_listener_held_connections gauge
switchman_listener_held_connections{listener="primary"} 0
switchman_listener_held_connections{listener="replicas"} 0
switchman_listener_held_connections{listener="legacy"} 0
# HELP switchman_listener_queued_connections Connections waiting for a server slot.
# TYPE switchman_listener_queued_connections gauge
switchman_listener_queued_connections{listener="primary"} 0
switchman_listener_queued_connections{listener="replicas"} 0
switchman_listener_queued_connections{listener="legacy"} 0
# HELP switchman_listener_bytes_in_total Bytes from clients to servers.
# TYPE switchman_listener_bytes_in_total counter
switchman_listener_bytes_in_total{listener="primary"} 1234567890
switchman_listener_bytes_in_total{listener="replicas"} 1000
switchman_listener_bytes_in_total{listener="legacy"} 0
# HELP switchman_listener_bytes_out_total Bytes from servers to clients.
# TYPE switchman_listener_bytes_out_total counter
switchman_listener_bytes_out_total{listener="primary"} 9876543210
switchman_listener_bytes_out_total{listener="replicas"} 2048000
switchman_listener_bytes_out_total{listener="legacy"} 0
# HELP switchman_listener_connect_errors_total Failed connects to servers.
# TYPE switchman_listener_connect_errors_total counter
switchman_listener_connect_errors_total{listener="primary"} 4
switchman_listener_connect_errors_total{listener="replicas"} 0
switchman_listener_connect_errors_total{listener="legacy"} 9
# HELP switchman_listener_retries_total Connects retried on another server or replayed.
# TYPE switchman_listener_retries_total counter
switchman_listener_retries_total{listener="primary"} 3
switchman_listener_retries_total{listener="replicas"} 0
switchman_listener_retries_total{listener="legacy"} 0
# HELP switchman_listener_stale_sessions_closed_total Sessions closed because their server left the route (leader change, replica excluded).
# TYPE switchman_listener_stale_sessions_closed_total counter
switchman_listener_stale_sessions_closed_total{listener="primary"} 17
switchman_listener_stale_sessions_closed_total{listener="replicas"} 0
switchman_listener_stale_sessions_closed_total{listener="legacy"} 0
# HELP switchman_listener_sessions_moved_by_route_change_total Sessions not yet answered by their server that a route change sent to the new route's server.
# TYPE switchman_listener_sessions_moved_by_route_change_total counter
switchman_listener_sessions_moved_by_route_change_total{listener="primary"} 0
switchman_listener_sessions_moved_by_route_change_total{listener="replicas"} 0
switchman_listener_sessions_moved_by_route_change_total{listener="legacy"} 0
# HELP switchman_listener_client_address_tagged_total Start-ups whose application_name got the client's address (client_address: application_name).
# TYPE switchman_listener_client_address_tagged_total counter
switchman_listener_client_address_tagged_total{listener="primary"} 0
switchman_listener_client_address_tagged_total{listener="replicas"} 0
switchman_listener_client_address_tagged_total{listener="legacy"} 0
# HELP switchman_listener_client_address_untagged_encrypted_total Start-ups with client_address: application_name that went on untagged because they were encrypted.
# TYPE switchman_listener_client_address_untagged_encrypted_total counter
switchman_listener_client_address_untagged_encrypted_total{listener="primary"} 0
switchman_listener_client_address_untagged_encrypted_total{listener="replicas"} 0
switchman_listener_client_address_untagged_encrypted_total{listener="legacy"} 0
# HELP switchman_listener_sessions_refused_total Connections refused (no route, hold timeout, limits).
# TYPE switchman_listener_sessions_refused_total counter
switchman_listener_sessions_refused_total{listener="primary"} 1
switchman_listener_sessions_refused_total{listener="replicas"} 0
switchman_listener_sessions_refused_total{listener="legacy"} 9
# HELP switchman_listener_cancel_requests_forwarded_total PostgreSQL cancel requests forwarded.
# TYPE switchman_listener_cancel_requests_forwarded_total counter
switchman_listener_cancel_requests_forwarded_total{listener="primary"} 5
switchman_listener_cancel_requests_forwarded_total{listener="replicas"} 0
switchman_listener_cancel_requests_forwarded_total{listener="legacy"} 0
# HELP switchman_member_info A backend (always 1), with its address, Patroni role and state.
# TYPE switchman_member_info gauge
switchman_member_info{member="pg-b",scope="demo",address="10.0.0.2:5432",role="master",state="running"} 1
switchman_member_info{member="pg-a",scope="demo",address="10.0.0.1:5432",role="replica",state="running"} 1
switchman_member_info{member="<script>alert(\"x\")</script>&'",scope="demo",address="10.0.0.3:5432",role="replica",state="running"} 1
switchman_member_info{member="pg-d",scope="demo",address="",role="",state=""} 1
switchman_member_info{listener="legacy",member="10.9.9.9:5432",address="10.9.9.9:5432",role="",state=""} 1
# HELP switchman_member_status Backend status: 1 for the current one (up, down, excluded, drain, maint), 0 for the others.
# TYPE switchman_member_status gauge
switchman_member_status{member="pg-b",scope="demo",status="up"} 1
switchman_member_status{member="pg-b",scope="demo",status="down"} 0
switchman_member_status{member="pg-b",scope="demo",status="excluded"} 0
switchman_member_status{member="pg-b",scope="demo",status="drain"} 0
switchman_member_status{member="pg-b",scope="demo",status="maint"} 0
switchman_member_status{member="pg-a",scope="demo",status="up"} 1
switchman_member_status{member="pg-a",scope="demo",status="down"} 0
switchman_member_status{member="pg-a",scope="demo",status="excluded"} 0
switchman_member_status{member="pg-a",scope="demo",status="drain"} 0
switchman_member_status{member="pg-a",scope="demo",status="maint"} 0
switchman_member_status{member="<script>alert(\"x\")</script>&'",scope="demo",status="up"} 0
switchman_member_status{member="<script>alert(\"x\")</script>&'",scope="demo",status="down"} 0
switchman_member_status{member="<script>alert(\"x\")</script>&'",scope="demo",status="excluded"} 1
switchman_member_status{member="<script>alert(\"x\")</script>&'",scope="demo",status="drain"} 0
switchman_member_status{member="<script>alert(\"x\")</script>&'",scope="demo",status="maint"} 0
switchman_member_status{member="pg-d",scope="demo",status="up"} 0
switchman_member_status{member="pg-d",scope="demo",status="down"} 0
switchman_member_status{member="pg-d",scope="demo",status="excluded"} 1
switchman_member_status{member="pg-d",scope="demo",status="drain"} 0
switchman_member_status{member="pg-d",scope="demo",status="maint"} 0
switchman_member_status{listener="legacy",member="10.9.9.9:5432",status="up"} 0
switchman_member_status{listener="legacy",member="10.9.9.9:5432",status="down"} 1
switchman_member_status{listener="legacy",member="10.9.9.9:5432",status="excluded"} 0
switchman_member_status{listener="legacy",member="10.9.9.9:5432",status="drain"} 0
switchman_member_status{listener="legacy",member="10.9.9.9:5432",status="maint"} 0
# HELP switchman_member_admin_state What an operator set for a cluster member: 1 for the current state (ready, drain, maint), 0 for the others.
# TYPE switchman_member_admin_state gauge
switchman_member_admin_state{member="pg-b",scope="demo",state="ready"} 1
switchman_member_admin_state{member="pg-b",scope="demo",state="drain"} 0
switchman_member_admin_state{member="pg-b",scope="demo",state="maint"} 0
switchman_member_admin_state{member="pg-a",scope="demo",state="ready"} 1
switchman_member_admin_state{member="pg-a",scope="demo",state="drain"} 0
switchman_member_admin_state{member="pg-a",scope="demo",state="maint"} 0
switchman_member_admin_state{member="<script>alert(\"x\")</script>&'",scope="demo",state="ready"} 1
switchman_member_admin_state{member="<script>alert(\"x\")</script>&'",scope="demo",state="drain"} 0
switchman_member_admin_state{member="<script>alert(\"x\")</script>&'",scope="demo",state="maint"} 0
switchman_member_admin_state{member="pg-d",scope="demo",state="ready"} 1
switchman_member_admin_state{member="pg-d",scope="demo",state="drain"} 0
switchman_member_admin_state{member="pg-d",scope="demo",state="maint"} 0
# HELP switchman_member_leader Whether the leader znode names this member.
# TYPE switchman_member_leader gauge
switchman_member_leader{member="pg-b",scope="demo"} 1
switchman_member_leader{member="pg-a",scope="demo"} 0
switchman_member_leader{member="<script>alert(\"x\")</script>&'",scope="demo"} 0
switchman_member_leader{member="pg-d",scope="demo"} 0
switchman_member_leader{listener="legacy",member="10.9.9.9:5432"} 0
# HELP switchman_member_timeline PostgreSQL timeline (absent when unknown).
# TYPE switchman_member_timeline gauge
switchman_member_timeline{member="pg-b",scope="demo"} 3
switchman_member_timeline{member="pg-a",scope="demo"} 3
switchman_member_timeline{member="<script>alert(\"x\")</script>&'",scope="demo"} 2
# HELP switchman_member_lag_bytes Replication lag behind the leader in bytes (absent when unknown).
# TYPE switchman_member_lag_bytes gauge
switchman_member_lag_bytes{member="pg-a",scope="demo"} 0
switchman_member_lag_bytes{member="<script>alert(\"x\")</script>&'",scope="demo"} 33554432
# HELP switchman_member_lag_seconds How far replay trails the primary, seconds (absent when unknown).
# TYPE switchman_member_lag_seconds gauge
# HELP switchman_member_check_failures_total Failed SQL checks of the member.
# TYPE switchman_member_check_failures_total counter
switchman_member_check_failures_total{member="pg-b",scope="demo"} 0
switchman_member_check_failures_total{member="pg-a",scope="demo"} 0
switchman_member_check_failures_total{member="<script>alert(\"x\")</script>&'",scope="demo"} 0
switchman_member_check_failures_total{member="pg-d",scope="demo"} 0
# HELP switchman_member_last_status_change_timestamp_seconds When the backend status last changed, seconds since the epoch (absent if never).
# TYPE switchman_member_last_status_change_timestamp_seconds gauge
switchman_member_last_status_change_timestamp_seconds{member="pg-b",scope="demo"} 1699999904.62
switchman_member_last_status_change_timestamp_seconds{member="pg-a",scope="demo"} 1699999920
switchman_member_last_status_change_timestamp_seconds{member="<script>alert(\"x\")</script>&'",scope="demo"} 1699992800
switchman_member_last_status_change_timestamp_seconds{listener="legacy",member="10.9.9.9:5432"} 1699999988
# HELP switchman_member_sessions Sessions open to the backend now.
# TYPE switchman_member_sessions gauge
switchman_member_sessions{member="pg-b",scope="demo"} 12
switchman_member_sessions{member="pg-a",scope="demo"} 3
switchman_member_sessions{member="<script>alert(\"x\")</script>&'",scope="demo"} 0
switchman_member_sessions{member="pg-d",scope="demo"} 0
switchman_member_sessions{listener="legacy",member="10.9.9.9:5432"} 0
# HELP switchman_member_sessions_total Sessions connected to the backend.
# TYPE switchman_member_sessions_total counter
switchman_member_sessions_total{member="pg-b",scope="demo"} 4000
switchman_member_sessions_total{member="pg-a",scope="demo"} 6311
switchman_member_sessions_total{member="<script>alert(\"x\")</script>&'",scope="demo"} 0
switchman_member_sessions_total{member="pg-d",scope="demo"} 0
switchman_member_sessions_total{listener="legacy",member="10.9.9.9:5432"} 0
# HELP switchman_member_bytes_in_total Bytes sent to the backend.
# TYPE switchman_member_bytes_in_total counter
switchman_member_bytes_in_total{member="pg-b",scope="demo"} 1000000
switchman_member_bytes_in_total{member="pg-a",scope="demo"} 1000
switchman_member_bytes_in_total{member="<script>alert(\"x\")</script>&'",scope="demo"} 0
switchman_member_bytes_in_total{member="pg-d",scope="demo"} 0
switchman_member_bytes_in_total{listener="legacy",member="10.9.9.9:5432"} 0
# HELP switchman_member_bytes_out_total Bytes received from the backend.
# TYPE switchman_member_bytes_out_total counter
switchman_member_bytes_out_total{member="pg-b",scope="demo"} 50000000
switchman_member_bytes_out_total{member="pg-a",scope="demo"} 2048000
switchman_member_bytes_out_total{member="<script>alert(\"x\")</script>&'",scope="demo"} 0
switchman_member_bytes_out_total{member="pg-d",scope="demo"} 0
switchman_member_bytes_out_total{listener="legacy",member="10.9.9.9:5432"} 0
# HELP switchman_member_check_ok Whether the last run of a check of Switchman's own passed.
# TYPE switchman_member_check_ok gauge
switchman_member_check_ok{member="pg-b",scope="demo",check="sql"} 1
# HELP switchman_member_check_duration_seconds How long the last run of a check took (absent on timeout).
# TYPE switchman_member_check_duration_seconds gauge
switchman_member_check_duration_seconds{member="pg-b",scope="demo",check="sql"} 0.004
# HELP switchman_loop_heartbeat_age_seconds Seconds since the event loop last turned.
# TYPE switchman_loop_heartbeat_age_seconds gauge
switchman_loop_heartbeat_age_seconds{loop="0"} 0.2
switchman_loop_heartbeat_age_seconds{loop="1"} 0.6
# HELP switchman_loop_sessions Sessions owned by the event loop.
# TYPE switchman_loop_sessions gauge
switchman_loop_sessions{loop="0"} 9
switchman_loop_sessions{loop="1"} 6
# HELP switchman_write_unavailable_seconds Write-unavailability window of each failover: from the old leader's last reply (or the switchover request, or the leader znode change) to the first byte forwarded to the new leader.
# TYPE switchman_write_unavailable_seconds histogram
switchman_write_unavailable_seconds_bucket{scope="demo",le="0.05"} 0
switchman_write_unavailable_seconds_bucket{scope="demo",le="0.1"} 0
switchman_write_unavailable_seconds_bucket{scope="demo",le="0.25"} 0
switchman_write_unavailable_seconds_bucket{scope="demo",le="0.5"} 1
switchman_write_unavailable_seconds_bucket{scope="demo",le="1"} 1
switchman_write_unavailable_seconds_bucket{scope="demo",le="2"} 1
switchman_write_unavailable_seconds_bucket{scope="demo",le="5"} 2
switchman_write_unavailable_seconds_bucket{scope="demo",le="10"} 2
switchman_write_unavailable_seconds_bucket{scope="demo",le="30"} 2
switchman_write_unavailable_seconds_bucket{scope="demo",le="60"} 2
switchman_write_unavailable_seconds_bucket{scope="demo",le="120"} 2
switchman_write_unavailable_seconds_bucket{scope="demo",le="+Inf"} 2
switchman_write_unavailable_seconds_sum{scope="demo"} 2.85
switchman_write_unavailable_seconds_count{scope="demo"} 2
# HELP switchman_hold_wait_seconds How long held connections waited, from accept to their connect, their hold timeout or their client's hang-up.
# TYPE switchman_hold_wait_seconds histogram
switchman_hold_wait_seconds_bucket{listener="primary",le="0.005"} 0
switchman_hold_wait_seconds_bucket{listener="primary",le="0.01"} 0
switchman_hold_wait_seconds_bucket{listener="primary",le="0.025"} 0
switchman_hold_wait_seconds_bucket{listener="primary",le="0.05"} 0
switchman_hold_wait_seconds_bucket{listener="primary",le="0.1"} 0
switchman_hold_wait_seconds_bucket{listener="primary",le="0.25"} 0
switchman_hold_wait_seconds_bucket{listener="primary",le="0.5"} 0
switchman_hold_wait_seconds_bucket{listener="primary",le="1"} 0
switchman_hold_wait_seconds_bucket{listener="primary",le="2.5"} 3
switchman_hold_wait_seconds_bucket{listener="primary",le="5"} 3
switchman_hold_wait_seconds_bucket{listener="primary",le="10"} 3
switchman_hold_wait_seconds_bucket{listener="primary",le="30"} 3
switchman_hold_wait_seconds_bucket{listener="primary",le="60"} 3
switchman_hold_wait_seconds_bucket{listener="primary",le="+Inf"} 3
switchman_hold_wait_seconds_sum{listener="primary"} 4.8
switchman_hold_wait_seconds_count{listener="primary"} 3
switchman_hold_wait_seconds_bucket{listener="replicas",le="0.005"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="0.01"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="0.025"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="0.05"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="0.1"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="0.25"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="0.5"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="1"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="2.5"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="5"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="10"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="30"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="60"} 0
switchman_hold_wait_seconds_bucket{listener="replicas",le="+Inf"} 0
switchman_hold_wait_seconds_sum{listener="replicas"} 0
switchman_hold_wait_seconds_count{listener="replicas"} 0

"""#
}
