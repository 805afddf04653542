/// A request the stats server accepts, as the parser delivers it.
public struct HTTPRequest: Sendable, Equatable {
    /// `GET`, `HEAD` or `POST` (the parser answers every other method with 405).
    public let method: HTTPMethod
    /// The path part of the request target, exactly as sent (not percent-decoded), starting with `/`.
    public let path: String
    /// What follows `?` in the target, without the `?`; `nil` when there is no `?`.
    public let query: String?
    /// Header fields in the order received, values trimmed of surrounding blanks.
    public let headers: [HTTPHeader]
    /// The protocol version of the request line.
    public let version: HTTPVersion
    /// Whether the connection may carry another request after the response (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    public let keepAlive: Bool

    /// Creates a request (the parser does; tests may too).
    public init(
        method: HTTPMethod,
        path: String,
        query: String? = nil,
        headers: [HTTPHeader] = [],
        version: HTTPVersion = .http11,
        keepAlive: Bool = true
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.version = version
        self.keepAlive = keepAlive
    }

    /// The value of the first header field called `name` (compared case-insensitively), if any.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// The methods the stats server serves.
public enum HTTPMethod: String, Sendable, Equatable, CaseIterable {
    /// `GET`
    case get = "GET"
    /// `HEAD`: the same status and headers as `GET`, no body.
    case head = "HEAD"
    /// `POST`: the runtime controls only (`/admin` and `/admin/...`); every other path answers 405.
    case post = "POST"

    /// The runtime controls' paths (`/admin` and under `/admin/`, without the query): they take
    /// POST, every other path GET and HEAD.
    public static func isControlPath(_ path: String) -> Bool {
        path.hasPrefix("/admin/") || path == "/admin"
    }
}

/// The protocol versions the parser accepts.
public enum HTTPVersion: String, Sendable, Equatable, CaseIterable {
    /// `HTTP/1.0`
    case http10 = "HTTP/1.0"
    /// `HTTP/1.1`
    case http11 = "HTTP/1.1"
}

/// One header field.
public struct HTTPHeader: Sendable, Equatable {
    /// The field name as sent.
    public let name: String
    /// The field value, leading and trailing spaces and tabs removed.
    public let value: String

    /// Creates a header field.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What the parser made of the bytes so far.
public enum HTTPParseResult: Sendable, Equatable {
    /// The request is not complete yet: feed more bytes.
    case needMore
    /// A complete request; its bytes are consumed, any following bytes stay buffered.
    case request(HTTPRequest)
    /// The bytes can never form an acceptable request: answer with `status` and close the connection.
    /// `allow`: for a 405, the methods the request's path takes (`POST` under `/admin/`).
    case error(status: Int, reason: String, allow: String? = nil)
}
