import Foundation

/// Paths of the repository the tests were built from, found from this file's own path.
enum Repository {
    /// The repository root: this file is `Tests/IntegrationTests/Support/Repository.swift`.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `scripts/local-cluster.sh`.
    static var localClusterScript: String { root.appendingPathComponent("scripts/local-cluster.sh").path }

    /// The Switchman binary under test: `$SWITCHMAN_BIN`, else `.build/debug/switchman` (built by
    /// `swift build`, which scripts/test.sh runs before `swift test`).
    static var switchmanBinary: String {
        ProcessInfo.processInfo.environment["SWITCHMAN_BIN"] ?? root.appendingPathComponent(".build/debug/switchman").path
    }

    /// Where tests leave files for a human (logs, screenshots): `.build/artifacts/`.
    static func artifactsDirectory(_ sub: String) throws -> URL {
        let url = root.appendingPathComponent(".build/artifacts").appendingPathComponent(sub)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
