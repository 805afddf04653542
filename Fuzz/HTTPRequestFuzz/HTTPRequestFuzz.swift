// libFuzzer harness for the stats server's HTTP/1.1 request parser (and the basic-auth check it
// feeds). Built by scripts/fuzz.sh together with Sources/StatsServer/HTTP/{HTTPRequestParser,
// HTTPRequest,BasicAuth}.swift as one module.
//
// The first byte picks the limits (the defaults, or small ones so that every limit is reached) and
// the chunk sizes; the rest is the byte stream a client sends. Invariants are `precondition`s, so a
// violation is a crash libFuzzer reports:
// - fed whole or in chunks (sizes from the input), the parser yields the same requests and the same
//   final result;
// - every request has a GET/HEAD method, a target starting with `/`, header names and values
//   without line ends, and `keepAlive` as its version and `Connection` say;
// - a request written back as text parses to the same request;
// - after an error nothing stays buffered and every later call gives the same error.

import Foundation
/// Entry point libFuzzer calls once per input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard let selector = bytes.first else { return 0 }
    let limits = selector & 1 == 0
        ? HTTPRequestParser.Limits()
        : HTTPRequestParser.Limits(requestLine: 40, head: 160, headerCount: 4, body: 16)
    let stream = Array(bytes.dropFirst())

    var whole = HTTPRequestParser(limits: limits)
    let expected = drain(&whole, first: whole.feed(stream))

    var chunked = HTTPRequestParser(limits: limits)
    var got: [HTTPParseResult] = []
    var offset = 0
    var step = 0
    while offset < stream.count {
        let size = Int(selector >> 1) % 16 + 1 + (step % 3)
        let end = min(stream.count, offset + size)
        let results = drain(&chunked, first: chunked.feed(stream[offset..<end]))
        // Only the final needMore of each feed is transient; requests and errors accumulate.
        got += results.filter { $0 != .needMore }
        offset = end
        step += 1
        if case .error = results.last { break }
    }
    let expectedFinal = expected.filter { $0 != .needMore }
    require(got == expectedFinal, "chunked feeding changed the results: \(got) vs \(expectedFinal)")

    for result in expected {
        switch result {
        case .request(let request):
            check(request, limits: limits)
        case .error(let status, _, _):
            require([400, 405, 414, 431, 505].contains(status), "unexpected status \(status)")
            require(whole.bufferedByteCount == 0, "bytes kept after an error")
            require(whole.next() == result && whole.feed([0x41]) == result, "the parser recovered from an error")
        case .needMore:
            break
        }
    }
    return 0
}

/// The first result and every pipelined request after it (bounded: each request consumes bytes).
private func drain(_ parser: inout HTTPRequestParser, first: HTTPParseResult) -> [HTTPParseResult] {
    var results = [first]
    var last = first
    var rounds = 0
    while case .request = last, rounds < 10_000 {
        last = parser.next()
        results.append(last)
        rounds += 1
    }
    return results
}

private func check(_ request: HTTPRequest, limits: HTTPRequestParser.Limits) {
    require(request.path.hasPrefix("/"), "path \(request.path)")
    require(!request.path.contains("?"), "path keeps its query")
    for header in request.headers {
        require(!header.name.isEmpty)
        require(!header.name.utf8.contains(where: { $0 <= 0x20 || $0 == 0x3A || $0 >= 0x7F }), "header name \(header.name)")
        require(!header.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }), "header value with a line end")
        require(header.value.first != " " && header.value.last != " ", "header value not trimmed")
    }
    require(request.headers.count <= limits.headerCount)
    let connection = request.headers.filter { $0.name.lowercased() == "connection" }
        .flatMap { $0.value.lowercased().split(separator: ",") }
        .map { $0.trimmingBlanks() }
    let keepAlive = request.version == .http11
        ? !connection.contains("close")
        : connection.contains("keep-alive") && !connection.contains("close")
    require(request.keepAlive == keepAlive, "keepAlive \(request.keepAlive) for \(request.version) \(connection)")

    // Written back as text (lengths dropped: the body is not kept), the request parses the same.
    var text = "\(request.method.rawValue) \(request.path)\(request.query.map { "?" + $0 } ?? "") \(request.version.rawValue)\r\n"
    for header in request.headers where header.name.lowercased() != "content-length" {
        text += "\(header.name): \(header.value)\r\n"
    }
    text += "\r\n"
    var again = HTTPRequestParser(limits: HTTPRequestParser.Limits(requestLine: 1 << 20, head: 1 << 20, headerCount: 1000, body: 1 << 20))
    let reparsed = again.feed(Array(text.utf8))
    let withoutLength = HTTPRequest(
        method: request.method, path: request.path, query: request.query,
        headers: request.headers.filter { $0.name.lowercased() != "content-length" },
        version: request.version, keepAlive: request.keepAlive)
    require(reparsed == .request(withoutLength), "request written back parses as \(reparsed)")

    // The stats server's auth check on whatever Authorization the request carries.
    _ = BasicAuth.matches(header: request.header("authorization"), expected: "admin:secret")
}

/// `precondition` that prints its message in an optimized build too (then aborts for libFuzzer).
private func require(_ condition: Bool, _ message: @autoclosure () -> String = "", line: UInt = #line) {
    guard !condition else { return }
    FileHandle.standardError.write(Data("fuzz invariant broken at line \(line): \(message())\n".utf8))
    abort()
}
