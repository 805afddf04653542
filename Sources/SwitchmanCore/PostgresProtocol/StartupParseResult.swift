/// What `PostgresStartupParser.parse` made of the bytes a client sent first.
public enum StartupParseResult: Hashable, Sendable {
    /// Cannot decide yet: read until at least `minimumBytes` bytes (counted from the start of the
    /// buffer) are available, then parse again. The answer may ask for more again, but the value
    /// never decreases and never exceeds `StartupPacket.maximumLength`.
    case needMore(minimumBytes: Int)
    /// A complete packet occupying the first `consumedBytes` bytes of the buffer; anything after
    /// them belongs to the next packet.
    case packet(StartupPacket, consumedBytes: Int)
    /// Not PostgreSQL's start-up (or a malformed one): forward the bytes untouched, stop sniffing.
    ///
    /// A malformed packet is forwarded rather than answered because the real server then answers
    /// exactly as PostgreSQL does (an `08P01` layout error, or a silent close for a bad length), and
    /// the proxy never refuses something a newer server might accept.
    case notPostgres(NotPostgresReason)
}
