// swift-tools-version:6.0
import PackageDescription

// Module graph (see docs/ARCHITECTURE.md):
// switchman → {StatsServer, Discovery, ProxyRuntime} → Reactor → PosixIO → CShims;
// every module may use SwitchmanCore (pure logic, no file descriptors).
// The data plane's modules, and SwitchmanCore (its StartupMachine runs on every connection), skip
// dynamic exclusivity checks in release builds (they cost ~3% of CPU under load in
// swift_beginAccess, ~5% of a short connection's instructions); debug builds and tests keep them.
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Switchman",
    products: [
        .executable(name: "switchman", targets: ["switchman"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .target(name: "CShims"),
        .systemLibrary(name: "CZooKeeper", providers: [.apt(["libzookeeper-mt-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "PosixIO", dependencies: ["CShims"], swiftSettings: hotPathSettings),
        .target(name: "Reactor", dependencies: ["PosixIO", "CShims"], swiftSettings: hotPathSettings),
        .target(name: "SwitchmanCore", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: hotPathSettings),
        .target(
            name: "ProxyRuntime",
            dependencies: ["Reactor", "PosixIO", "SwitchmanCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "Discovery",
            dependencies: [
                "CZooKeeper", "CLibPQ", "Reactor", "PosixIO", "SwitchmanCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "StatsServer",
            dependencies: ["Reactor", "PosixIO", "SwitchmanCore", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "switchman",
            dependencies: [
                "ProxyRuntime", "Discovery", "StatsServer", "SwitchmanCore", "Reactor", "PosixIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test helpers more than one test target needs (spawning children without our descriptors,
        // loopback ports no bind to port 0 can take).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SwitchmanCoreTests", dependencies: ["SwitchmanCore"]),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "PosixIO", "CShims"]),
        .testTarget(name: "ProxyRuntimeTests", dependencies: ["ProxyRuntime", "Reactor", "PosixIO", "SwitchmanCore", "CLibPQ", "TestSupport"]),
        .testTarget(name: "DiscoveryTests", dependencies: ["Discovery", "SwitchmanCore", "Reactor", "PosixIO", "TestSupport"]),
        .testTarget(name: "StatsServerTests", dependencies: ["StatsServer", "SwitchmanCore", "Reactor", "PosixIO"]),
        .testTarget(name: "IntegrationTests", dependencies: ["CLibPQ", "SwitchmanCore", "TestSupport"]),
        .testTarget(
            name: "SwitchmanTests",
            dependencies: ["switchman", "Reactor", "PosixIO", .product(name: "Logging", package: "swift-log")]
        ),
    ]
)
