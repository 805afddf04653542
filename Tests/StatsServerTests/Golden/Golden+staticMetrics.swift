// Generated: SWITCHMAN_UPDATE_GOLDEN=1 swift test --filter GoldenTests (review the diff before committing).
extension Golden {
    static let staticMetrics = #"""
# HELP switchman_build_info Switchman version (always 1).
# TYPE switchman_build_info gauge
switchman_build_info{version="0.1.0"} 1
# HELP switchman_start_time_seconds Process start, seconds since the epoch.
# TYPE switchman_start_time_seconds gauge
switchman_start_time_seconds 1699999999.5
# HELP switchman_uptime_seconds Seconds since the process started.
# TYPE switchman_uptime_seconds gauge
switchman_uptime_seconds 0.5
# HELP switchman_event_loops Event loop threads running.
# TYPE switchman_event_loops gauge
switchman_event_loops 1
# HELP switchman_config_reloads_total Configuration reloads attempted.
# TYPE switchman_config_reloads_total counter
switchman_config_reloads_total 0
# HELP switchman_config_reload_failures_total Configuration reloads rejected (the previous configuration stayed).
# TYPE switchman_config_reload_failures_total counter
switchman_config_reload_failures_total 0
# HELP switchman_log_lines_dropped_total Log lines (session log and diagnostics) dropped because their reader fell behind.
# TYPE switchman_log_lines_dropped_total counter
switchman_log_lines_dropped_total 0
# HELP switchman_listener_info A configured listener (always 1), with its bind address and role.
# TYPE switchman_listener_info gauge
switchman_listener_info{listener="web",bind="[::]:8080",role="static"} 1
# HELP switchman_listener_route_state Route state of a listener: 1 for the current state, 0 for the others.
# TYPE switchman_listener_route_state gauge
switchman_listener_route_state{listener="web",state="ready"} 1
switchman_listener_route_state{listener="web",state="hold"} 0
switchman_listener_route_state{listener="web",state="unavailable"} 0
# HELP switchman_listener_route_servers Servers the current route may connect to.
# TYPE switchman_listener_route_servers gauge
switchman_listener_route_servers{listener="web"} 1
# HELP switchman_listener_paused Whether an operator paused the listener (new connections are held).
# TYPE switchman_listener_paused gauge
switchman_listener_paused{listener="web"} 0
# HELP switchman_listener_sessions Sessions open now.
# TYPE switchman_listener_sessions gauge
switchman_listener_sessions{listener="web"} 0
# HELP switchman_listener_sessions_limit Per-listener session limit (absent when only the global maxconn applies).
# TYPE switchman_listener_sessions_limit gauge
# HELP switchman_listener_sessions_total Sessions accepted.
# TYPE switchman_listener_sessions_total counter
switchman_listener_sessions_total{listener="web"} 0
# HELP switchman_listener_held_connections Connections waiting for a route (failover hold).
# TYPE switchman_listener_held_connections gauge
switchman_listener_held_connections{listener="web"} 0
# HELP switchman_listener_queued_connections Connections waiting for a server slot.
# TYPE switchman_listener_queued_connections gauge
switchman_listener_queued_connections{listener="web"} 0
# HELP switchman_listener_bytes_in_total Bytes from clients to servers.
# TYPE switchman_listener_bytes_in_total counter
switchman_listener_bytes_in_total{listener="web"} 0
# HELP switchman_listener_bytes_out_total Bytes from servers to clients.
# TYPE switchman_listener_bytes_out_total counter
switchman_listener_bytes_out_total{listener="web"} 0
# HELP switchman_listener_connect_errors_total Failed connects to servers.
# TYPE switchman_listener_connect_errors_total counter
switchman_listener_connect_errors_total{listener="web"} 0
# HELP switchman_listener_retries_total Connects retried on another server or replayed.
# TYPE switchman_listener_retries_total counter
switchman_listener_retries_total{listener="web"} 0
# HELP switchman_listener_stale_sessions_closed_total Sessions closed because their server left the route (leader change, replica excluded).
# TYPE switchman_listener_stale_sessions_closed_total counter
switchman_listener_stale_sessions_closed_total{listener="web"} 0
# HELP switchman_listener_sessions_moved_by_route_change_total Sessions not yet answered by their server that a route change sent to the new route's server.
# TYPE switchman_listener_sessions_moved_by_route_change_total counter
switchman_listener_sessions_moved_by_route_change_total{listener="web"} 0
# HELP switchman_listener_client_address_tagged_total Start-ups whose application_name got the client's address (client_address: application_name).
# TYPE switchman_listener_client_address_tagged_total counter
switchman_listener_client_address_tagged_total{listener="web"} 0
# HELP switchman_listener_client_address_untagged_encrypted_total Start-ups with client_address: application_name that went on untagged because they were encrypted.
# TYPE switchman_listener_client_address_untagged_encrypted_total counter
switchman_listener_client_address_untagged_encrypted_total{listener="web"} 0
# HELP switchman_listener_sessions_refused_total Connections refused (no route, hold timeout, limits).
# TYPE switchman_listener_sessions_refused_total counter
switchman_listener_sessions_refused_total{listener="web"} 0
# HELP switchman_listener_cancel_requests_forwarded_total PostgreSQL cancel requests forwarded.
# TYPE switchman_listener_cancel_requests_forwarded_total counter
switchman_listener_cancel_requests_forwarded_total{listener="web"} 0
# HELP switchman_member_info A backend (always 1), with its address, Patroni role and state.
# TYPE switchman_member_info gauge
# HELP switchman_member_status Backend status: 1 for the current one (up, down, excluded, drain, maint), 0 for the others.
# TYPE switchman_member_status gauge
# HELP switchman_member_admin_state What an operator set for a cluster member: 1 for the current state (ready, drain, maint), 0 for the others.
# TYPE switchman_member_admin_state gauge
# HELP switchman_member_leader Whether the leader znode names this member.
# TYPE switchman_member_leader gauge
# HELP switchman_member_timeline PostgreSQL timeline (absent when unknown).
# TYPE switchman_member_timeline gauge
# HELP switchman_member_lag_bytes Replication lag behind the leader in bytes (absent when unknown).
# TYPE switchman_member_lag_bytes gauge
# HELP switchman_member_lag_seconds How far replay trails the primary, seconds (absent when unknown).
# TYPE switchman_member_lag_seconds gauge
# HELP switchman_member_check_failures_total Failed SQL checks of the member.
# TYPE switchman_member_check_failures_total counter
# HELP switchman_member_last_status_change_timestamp_seconds When the backend status last changed, seconds since the epoch (absent if never).
# TYPE switchman_member_last_status_change_timestamp_seconds gauge
# HELP switchman_member_sessions Sessions open to the backend now.
# TYPE switchman_member_sessions gauge
# HELP switchman_member_sessions_total Sessions connected to the backend.
# TYPE switchman_member_sessions_total counter
# HELP switchman_member_bytes_in_total Bytes sent to the backend.
# TYPE switchman_member_bytes_in_total counter
# HELP switchman_member_bytes_out_total Bytes received from the backend.
# TYPE switchman_member_bytes_out_total counter
# HELP switchman_member_check_ok Whether the last run of a check of Switchman's own passed.
# TYPE switchman_member_check_ok gauge
# HELP switchman_member_check_duration_seconds How long the last run of a check took (absent on timeout).
# TYPE switchman_member_check_duration_seconds gauge
# HELP switchman_loop_heartbeat_age_seconds Seconds since the event loop last turned.
# TYPE switchman_loop_heartbeat_age_seconds gauge
switchman_loop_heartbeat_age_seconds{loop="0"} 0
# HELP switchman_loop_sessions Sessions owned by the event loop.
# TYPE switchman_loop_sessions gauge
switchman_loop_sessions{loop="0"} 0

"""#
}
