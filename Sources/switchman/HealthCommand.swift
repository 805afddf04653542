import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `switchman health [URL]`: one GET of a stats-server probe (`/health`, `/ready`, `/primary`,
/// `/replica`); exit 0 on a 2xx answer, 1 otherwise (refused, timed out, malformed, any other status).
///
/// It exists so that a container's `HEALTHCHECK`, a systemd `ExecStartPost` or a Kubernetes `exec`
/// probe needs nothing but the binary itself: no shell, no curl.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Query a probe of the stats server: exit 0 on a 2xx answer, else 1.",
        discussion: """
            URL is http://HOST:PORT/PATH (default http://127.0.0.1:7000/health). /health answers without \
            credentials; for /ready, /primary or /replica with stats.auth set, put them in the URL: \
            http://USER:PASSWORD@127.0.0.1:7000/ready.
            """)

    @Argument(help: "The probe's URL.")
    var url: String = "http://127.0.0.1:7000/health"

    @Option(name: .long, help: "Seconds the whole request may take.")
    var timeout: Double = 3

    @Flag(name: .shortAndLong, help: "Print nothing; only the exit status tells.")
    var quiet = false

    func run() throws {
        let answer: HealthProbe.Answer
        do {
            let target = try HealthProbe.Target(parsing: url)
            answer = try HealthProbe.get(target, timeout: max(0.05, timeout))
        } catch {
            if !quiet { FileHandle.standardError.write(Data("switchman health: \(url): \(error)\n".utf8)) }
            throw ExitCode(1)
        }
        if !quiet {
            let reason = answer.firstBodyLine.isEmpty ? "" : " — \(answer.firstBodyLine)"
            print("\(url): \(answer.statusLine)\(reason)")
        }
        if !(200...299).contains(answer.status) { throw ExitCode(1) }
    }
}

/// The HTTP/1.0 client behind `switchman health` and `switchman ctl`: blocking sockets bounded by one deadline.
enum HealthProbe {
    /// Why a probe got no usable answer.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Where to send the GET, parsed from `http://[USER:PASSWORD@]HOST[:PORT][/PATH]`.
    struct Target: Equatable {
        var host: String
        var port: UInt16
        var path: String
        /// `USER:PASSWORD` from the URL, sent as basic auth.
        var credentials: String?

        init(parsing url: String) throws {
            guard url.lowercased().hasPrefix("http://") else {
                throw Failure("only http:// URLs are supported (the stats server speaks plain HTTP)")
            }
            var rest = Substring(url.dropFirst("http://".count))
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[..<slash]
            rest = rest[slash...]
            path = rest.isEmpty ? "/" : String(rest)
            credentials = nil
            if let at = authority.lastIndex(of: "@") {
                credentials = String(authority[..<at]).removingPercentEncoding
                authority = authority[authority.index(after: at)...]
            }
            var portText: Substring?
            if authority.hasPrefix("[") {
                // [IPv6]:port
                guard let close = authority.firstIndex(of: "]") else { throw Failure("unclosed [ in the host") }
                host = String(authority[authority.index(after: authority.startIndex)..<close])
                let after = authority[authority.index(after: close)...]
                if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw Failure("junk after ]") }
            } else if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                portText = authority[authority.index(after: colon)...]
            } else {
                host = String(authority)
            }
            guard !host.isEmpty else { throw Failure("no host in the URL") }
            if let portText {
                guard let value = UInt16(portText), value > 0 else { throw Failure("bad port \"\(portText)\"") }
                port = value
            } else {
                port = 80
            }
        }
    }

    /// What the server said.
    struct Answer {
        let status: Int
        /// e.g. `HTTP/1.1 200 OK`.
        let statusLine: String
        /// The probe routes answer with a one-line reason; empty when there is no body.
        let firstBodyLine: String
    }

    /// GET `target.path` within `timeout` seconds (resolution, connect, request and answer together).
    static func get(_ target: Target, timeout: Double) throws -> Answer {
        try request("GET", target, timeout: timeout)
    }

    /// `method` (GET, or POST with an empty body) of `target.path` within `timeout` seconds.
    static func request(_ method: String, _ target: Target, timeout: Double) throws -> Answer {
        let deadline = monotonicSeconds() + timeout
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw Failure("cannot resolve \(target.host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var lastError = Failure("no address for \(target.host)")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            do {
                let fd = try connect(address.pointee, deadline: deadline)
                defer { close(fd) }
                return try exchange(fd, method: method, target: target, deadline: deadline)
            } catch let failure as Failure {
                lastError = failure
            }
        }
        throw lastError
    }

    private static func connect(_ address: addrinfo, deadline: Double) throws -> Int32 {
        let fd = socket(address.ai_family, address.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), address.ai_protocol)
        guard fd >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
        if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                let message = String(cString: strerror(errno))
                close(fd)
                throw Failure("connect: \(message)")
            }
            do {
                try wait(fd, for: Int16(POLLOUT), until: deadline, doing: "connect")
            } catch {
                close(fd)
                throw error
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else {
                close(fd)
                throw Failure("connect: \(String(cString: strerror(error)))")
            }
        }
        return fd
    }

    private static func exchange(_ fd: Int32, method: String, target: Target, deadline: Double) throws -> Answer {
        let hostHeader = target.host.contains(":") ? "[\(target.host)]:\(target.port)" : "\(target.host):\(target.port)"
        var request = "\(method) \(target.path) HTTP/1.0\r\nHost: \(hostHeader)\r\nUser-Agent: switchman-health\r\nConnection: close\r\n"
        if method == "POST" { request += "Content-Length: 0\r\n" }
        if let credentials = target.credentials {
            request += "Authorization: Basic \(Data(credentials.utf8).base64EncodedString())\r\n"
        }
        request += "\r\n"
        var pending = Array(request.utf8)[...]
        while !pending.isEmpty {
            try wait(fd, for: Int16(POLLOUT), until: deadline, doing: "send")
            let n = pending.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw Failure("send: \(String(cString: strerror(errno)))")
            }
            pending = pending.dropFirst(n)
        }
        // The probe answers are a few hundred bytes; 64 KiB is plenty to find the status and a reason.
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while received.count < 65536 {
            try wait(fd, for: Int16(POLLIN), until: deadline, doing: "the answer")
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == ECONNRESET && !received.isEmpty { break }
                throw Failure("recv: \(String(cString: strerror(errno)))")
            }
            received += chunk[0..<n]
        }
        return try parse(received)
    }

    /// The status line and the first body line of an HTTP answer.
    static func parse(_ bytes: [UInt8]) throws -> Answer {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let lineEnd = text.range(of: "\r\n") else {
            throw Failure(bytes.isEmpty ? "the connection closed without an answer" : "no HTTP status line in \(text.prefix(80).debugDescription)")
        }
        let statusLine = String(text[..<lineEnd.lowerBound])
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]), (100...599).contains(status) else {
            throw Failure("not an HTTP status line: \(statusLine.prefix(80).debugDescription)")
        }
        var firstBodyLine = ""
        if let headerEnd = text.range(of: "\r\n\r\n") {
            firstBodyLine = text[headerEnd.upperBound...].split(separator: "\n", maxSplits: 1).first
                .map { String($0.prefix(200)).trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        }
        return Answer(status: status, statusLine: statusLine, firstBodyLine: firstBodyLine)
    }

    private static func wait(_ fd: Int32, for events: Int16, until deadline: Double, doing what: String) throws {
        while true {
            let left = deadline - monotonicSeconds()
            guard left > 0 else { throw Failure("timed out waiting for \(what)") }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&entry, 1, Int32(min(left * 1000, 60_000).rounded(.up)))
            if rc > 0 { return }
            if rc < 0 && errno != EINTR { throw Failure("poll: \(String(cString: strerror(errno)))") }
        }
    }

    private static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
