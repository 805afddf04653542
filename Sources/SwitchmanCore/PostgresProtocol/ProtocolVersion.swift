/// A frontend/backend protocol version as sent in a StartupMessage: major in the high 16 bits, minor
/// in the low 16 bits (3.0 = 196608, 3.2 = 196610).
public struct ProtocolVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Major version; the parser only accepts 3.
    public let major: UInt16
    /// Minor version: 0 for PostgreSQL up to 17, 2 for a PostgreSQL 18 client asking for 3.2.
    public let minor: UInt16

    /// Protocol 3.0, spoken by every PostgreSQL since 7.4.
    public static let v3_0 = ProtocolVersion(major: 3, minor: 0)
    /// Protocol 3.2 (PostgreSQL 18): variable-length cancel keys.
    public static let v3_2 = ProtocolVersion(major: 3, minor: 2)

    /// Creates a version from its parts.
    public init(major: UInt16, minor: UInt16) {
        self.major = major
        self.minor = minor
    }

    /// Splits the 32-bit code of a StartupMessage into major and minor.
    public init(code: UInt32) {
        self.major = UInt16(truncatingIfNeeded: code >> 16)
        self.minor = UInt16(truncatingIfNeeded: code)
    }

    /// The 32-bit code as written on the wire.
    public var code: UInt32 { UInt32(major) << 16 | UInt32(minor) }

    /// `major.minor`, e.g. `3.0`.
    public var description: String { "\(major).\(minor)" }

    /// Orders by major, then minor.
    public static func < (lhs: ProtocolVersion, rhs: ProtocolVersion) -> Bool { lhs.code < rhs.code }
}
