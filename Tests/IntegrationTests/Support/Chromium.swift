import Foundation

/// Headless Chromium (Debian `chromium`), for looking at the stats page the way a browser renders it.
enum Chromium {
    static let path = "/usr/bin/chromium"

    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// The DOM after the page loaded and its script ran (`--dump-dom`).
    static func dumpDOM(_ url: String) async throws -> String {
        let result = try await run(["--dump-dom", url])
        guard result.status == 0, result.output.contains("</html>") else {
            throw IntegrationError("chromium --dump-dom \(url) exited with \(result.status):\n\(result.output.suffix(3000))")
        }
        return result.output
    }

    /// A PNG screenshot of the page at 1280×1600.
    static func screenshot(_ url: String, to path: String) async throws {
        try? FileManager.default.removeItem(atPath: path)
        let result = try await run(["--screenshot=\(path)", "--window-size=1280,1600", "--hide-scrollbars", url])
        guard result.status == 0, FileManager.default.fileExists(atPath: path) else {
            throw IntegrationError("chromium --screenshot \(url) exited with \(result.status):\n\(result.output.suffix(3000))")
        }
    }

    private static func run(_ arguments: [String]) async throws -> CommandResult {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("switchman-chromium-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: profile) }
        // --no-sandbox: the tests run as root; a virtual-time budget lets the page's script fetch
        // /stats.json and re-render before the DOM is dumped.
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                      "--user-data-dir=\(profile)", "--virtual-time-budget=3000"]
        return try await Command.run(path, common + arguments, timeout: .seconds(90))
    }
}
