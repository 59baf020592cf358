// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "raqam",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "raqamd", targets: ["raqamd"]),
        .executable(name: "raqamctl", targets: ["raqamctl"]),
        .executable(name: "raqam-bench", targets: ["raqam-bench"]),
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "RaqamModel", targets: ["RaqamModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // C: libsystemd (journal, notify), from Debian's libsystemd-dev.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // C: the system's SQLite (libsqlite3-dev), the benchmark's peer.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // C: CRC32C with the SSE4.2 instruction where the CPU has it, a table otherwise.
        .target(name: "CRaqamSupport"),

        // The system: typed wrappers of system calls, errno kept as the cause (files, sockets, epoll, threads).
        .target(name: "RaqamSystem", dependencies: ["CRaqamSupport"], swiftSettings: strict),
        // Storage: opaque records, framing, chain, group commit, recovery. No domain knowledge.
        .target(
            name: "EventLog",
            dependencies: ["CRaqamSupport", "RaqamSystem", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // Domain: entity keys, event types, validation, JSON and binary codecs, reference data.
        .target(name: "RaqamModel", swiftSettings: strict),
        // Domain over storage: typed events in the log, batch validation, idempotent append.
        .target(
            name: "RaqamStore",
            dependencies: ["RaqamModel", "EventLog"],
            swiftSettings: strict
        ),
        // Domain state: the fold from events to per-entity metrics, as of any time. Pure: no I/O.
        .target(name: "Projections", dependencies: ["RaqamModel"], swiftSettings: strict),
        // Rules: the expression language and (growing) rule files and evaluation.
        .target(name: "Rules", dependencies: ["RaqamModel", "Projections", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // The engine: replay and snapshots, rule loading, the evaluation clock, the one fold
        // driver (AlertFold), the alert log and what delivery owes. No systemd, no sockets.
        .target(
            name: "RaqamEngine",
            dependencies: ["RaqamModel", "RaqamStore", "Projections", "Rules", "RaqamSystem"],
            swiftSettings: strict
        ),
        // Who may do what: tokens (kept as their SHA-256 in a hash-chained audit log of their
        // own), principals and the scope a report token may report about. No HTTP.
        .target(
            name: "RaqamAccess",
            dependencies: ["RaqamModel", "RaqamStore", "RaqamSystem", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // The HTTP API (Hummingbird 2): intake through Ingest, reads, health, TLS.
        // The web view's pages: what each page shows (from projections and alerts), rendered
        // with Mustache templates and server-drawn SVG. Pure: no I/O, no HTTP.
        .target(
            name: "RaqamWeb",
            dependencies: ["RaqamEngine", "RaqamModel", "Rules", "Projections", .product(name: "Mustache", package: "swift-mustache")],
            swiftSettings: strict
        ),
        .target(
            name: "RaqamHTTP",
            dependencies: [
                "RaqamAccess", "RaqamEngine", "RaqamStore", "RaqamModel", "Rules", "Projections", "RaqamWeb",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The H1-2021 scenario: a seeded generator of the programme's events over the reference data.
        .target(name: "Scenario", dependencies: ["RaqamModel"], swiftSettings: strict),
        // The control socket's line protocol (both sides) and its client.
        .target(name: "RaqamControl", dependencies: ["RaqamSystem", "RaqamModel", "RaqamStore"], swiftSettings: strict),
        // systemd: sd_notify and the journal, behind typed wrappers.
        .target(name: "Journal", dependencies: ["CSystemd", "RaqamSystem", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        // A journal sink that keeps its entries: the test stand-in for the journal (STYLE.md 2).
        .target(name: "InMemoryJournal", dependencies: ["Journal"], swiftSettings: strict),
        .target(
            name: "RaqamDaemon",
            dependencies: [
                "Journal", "RaqamEngine", "Rules", "Projections", "RaqamStore", "RaqamModel", "RaqamControl", "RaqamSystem",
                "RaqamHTTP", "RaqamAccess",
                .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The CLI's commands as a library, so the executable stays thin and tests can reach it.
        .target(
            name: "RaqamCLI",
            dependencies: [
                "RaqamStore", "RaqamModel", "Projections", "Rules", "RaqamEngine", "Scenario", "RaqamControl", "RaqamAccess", "RaqamSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "raqamctl", dependencies: ["RaqamCLI"], swiftSettings: strict),
        .executableTarget(
            name: "raqamd",
            dependencies: ["RaqamDaemon", "RaqamEngine", "RaqamStore", "Journal", "RaqamHTTP", .product(name: "Logging", package: "swift-log"), .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "raqam-bench",
            dependencies: [
                "EventLog", "RaqamModel", "RaqamStore", "Projections", "Rules", "RaqamEngine", "CSQLite", "RaqamControl", "RaqamSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),

        // A test stand-in more than one test target needs (STYLE.md 2).
        .target(name: "RaqamTestSupport", path: "Tests/RaqamTestSupport", swiftSettings: strict),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog"], swiftSettings: strict),
        .testTarget(name: "RaqamModelTests", dependencies: ["RaqamModel"], swiftSettings: strict),
        .testTarget(name: "RulesTests", dependencies: ["Rules", "Projections", "RaqamModel", "RaqamTestSupport"], swiftSettings: strict),
        .testTarget(name: "RaqamDaemonTests", dependencies: ["RaqamDaemon", "RaqamEngine", "InMemoryJournal", "RaqamStore", "RaqamTestSupport", "Rules", "Projections", "RaqamModel", "Journal"], swiftSettings: strict),
        .testTarget(name: "JournalTests", dependencies: ["Journal", "RaqamTestSupport", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "RaqamEngineTests", dependencies: ["RaqamEngine", "Projections", "RaqamStore", "RaqamModel", "Rules", "Scenario", "RaqamTestSupport"], swiftSettings: strict),
        .testTarget(name: "ScenarioTests", dependencies: ["Scenario", "RaqamModel"], swiftSettings: strict),
        .testTarget(name: "ProjectionsTests", dependencies: ["Projections", "RaqamEngine", "RaqamModel", "RaqamStore", "RaqamTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "RaqamCLITests",
            dependencies: ["RaqamStore", "RaqamModel", "EventLog", "Scenario", "RaqamTestSupport", "RaqamSystem"],
            swiftSettings: strict
        ),
    ]
)
