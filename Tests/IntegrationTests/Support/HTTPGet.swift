import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP answer: status code and body.
struct HTTPAnswer: Sendable {
    let status: Int
    let body: String
}

/// A blocking HTTP/1.0 GET on 127.0.0.1 with a 5 s socket timeout: enough for the stats server.
enum HTTPGet {
    static func get(port: Int, path: String) async throws -> HTTPAnswer {
        try await offPool { try getBlocking(port: port, path: path) }
    }

    static func getBlocking(port: Int, path: String) throws -> HTTPAnswer {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IntegrationError("socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw IntegrationError("connect to 127.0.0.1:\(port): errno \(errno)") }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw IntegrationError("send to 127.0.0.1:\(port): errno \(errno)")
        }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while data.count < 64 << 20 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw IntegrationError("GET \(path) on 127.0.0.1:\(port): errno \(errno) after \(data.count) bytes")
            }
            data += chunk[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n"),
              let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap({ Int($0) }) else {
            throw IntegrationError("GET \(path) on 127.0.0.1:\(port): malformed answer \(text.prefix(200))")
        }
        return HTTPAnswer(status: status, body: String(text[headerEnd.upperBound...]))
    }
}
