extension Endpoint {
    /// Whether listening on both would fail or split traffic: same port (not 0, which the kernel
    /// picks), and the same host or a wildcard covering the other.
    func collides(with other: Endpoint) -> Bool {
        guard port == other.port, port != 0 else { return false }
        if host == other.host || host == "::" || other.host == "::" { return true }
        let v4Wildcard = "0.0.0.0"
        return (host == v4Wildcard && !other.host.contains(":")) || (other.host == v4Wildcard && !host.contains(":"))
    }
}
