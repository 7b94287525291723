// swift-tools-version: 6.0
// Rein: a SigV4-verifying, policy-enforcing sidecar for AI agents' AWS access.
// Layering (one way only): rein CLI → services → domain modules → C shims.
import PackageDescription

let package = Package(
    name: "Rein",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rein", targets: ["rein"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
    ],
    targets: [
        // C shims over the system libraries (distro-patched, FIPS-capable).
        .target(
            name: "CReinOpenSSL",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        .target(
            name: "CReinZlib",
            linkerSettings: [.linkedLibrary("z")]
        ),
        .target(
            name: "CReinCurl",
            linkerSettings: [.linkedLibrary("curl")]
        ),
        // Linux calls Swift's Glibc module leaves out (statx).
        .target(name: "CReinPosix"),
        // Domain modules: plain Swift, no NIO, no I/O they were not asked to do.
        .target(name: "ReinCrypto", dependencies: ["CReinOpenSSL"]),
        .target(name: "ReinSigV4", dependencies: ["ReinCrypto"]),
        .target(
            name: "ReinCatalog",
            dependencies: ["ReinSigV4"],
            resources: [.copy("Resources/aws-catalog.jsonl"), .copy("Resources/aws-endpoints.json")]
        ),
        .target(
            name: "ReinPolicy",
            dependencies: ["ReinCatalog", "ReinSigV4", .product(name: "Yams", package: "Yams")]
        ),
        // Framework alignment: catalogs (Compliance/*.yaml), the evidence engine, and report renderers (JSON, Markdown, HTML, CSV, OSCAL).
        .target(name: "ReinCompliance", dependencies: ["ReinCrypto", .product(name: "Yams", package: "Yams")]),
        // Human-in-the-loop holds: the hold record, request identity, scoped grants, the ledger interface and the HTTP API rules.
        .target(name: "ReinHolds", dependencies: ["ReinCrypto", "ReinAudit"]),
        // SQLite (GRDB) stores: the sidecar's audit spool, holds and the collector's store.
        .target(
            name: "ReinStore",
            dependencies: [
                "ReinAudit", "ReinCrypto", "ReinHolds", "CReinPosix",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // TLS termination and certificate minting on system OpenSSL (bytes in, bytes out; no sockets).
        .target(name: "ReinTLS", dependencies: ["CReinOpenSSL", .product(name: "Logging", package: "swift-log")]),
        // Plumbing the two services share: listen addresses, shutdown signals, the NIO TLS handler over ReinTLS.
        .target(
            name: "ReinServiceKit",
            dependencies: ["ReinTLS", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log")]
        ),
        // Outbound HTTP over system libcurl: a blocking client and a streaming multi-handle engine.
        .target(name: "ReinUpstream", dependencies: ["CReinCurl", .product(name: "Logging", package: "swift-log")]),
        // Broker credentials: the provider chain that signs what Rein forwards.
        .target(
            name: "ReinBroker",
            dependencies: [
                "ReinSigV4", "ReinUpstream", "ReinPolicy", "ReinCrypto",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The audit record, its hash chain and signed checkpoints, batch encoding and exports.
        .target(name: "ReinAudit", dependencies: ["ReinCrypto", "CReinZlib"]),
        // The collector's HTTP API, spoken over libcurl: shipper, registration, policy fetch, CLI.
        .target(
            name: "ReinCollectorClient",
            dependencies: [
                "ReinAudit", "ReinStore", "ReinUpstream", "ReinCrypto", "ReinHolds",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Service: the central collector (ingest, verification, query, policies, fleet).
        .target(
            name: "ReinCollector",
            dependencies: [
                "ReinAudit", "ReinStore", "ReinPolicy", "ReinCrypto", "ReinTLS", "ReinServiceKit", "CReinOpenSSL", "ReinHolds", "ReinCollectorClient",
                "ReinUpstream", "ReinBroker", "ReinSigV4",
                "ReinCompliance",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Service: the NIO sidecar.
        .target(
            name: "ReinSidecar",
            dependencies: [
                "ReinSigV4", "ReinCatalog", "ReinPolicy", "ReinCrypto", "ReinTLS", "ReinServiceKit", "ReinUpstream",
                "ReinBroker", "ReinAudit", "ReinStore", "ReinCollectorClient", "CReinOpenSSL", "ReinHolds",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The CLI parses arguments and calls libraries.
        .executableTarget(
            name: "rein",
            dependencies: [
                "ReinSigV4", "ReinCatalog", "ReinPolicy", "ReinCrypto", "ReinStore", "CReinCurl",
                "ReinSidecar", "ReinTLS", "ReinBroker", "ReinAudit", "ReinCollector", "ReinCollectorClient", "ReinHolds", "ReinCompliance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmarks print figures; they are never timed unit tests.
        .executableTarget(
            name: "rein-bench",
            dependencies: ["ReinSigV4", "ReinCatalog", "ReinPolicy", "ReinCrypto", "ReinAudit", "ReinStore", "ReinCollector", "ReinCompliance",
                           "ReinServiceKit"],
            path: "Benchmarks/ReinBench"
        ),
        .testTarget(name: "ReinCryptoTests", dependencies: ["ReinCrypto"]),
        .testTarget(name: "ReinSigV4Tests", dependencies: ["ReinSigV4", "ReinCrypto"]),
        .testTarget(name: "ReinStoreTests", dependencies: ["ReinStore", "ReinAudit", "ReinCrypto", "ReinHolds"]),
        .testTarget(name: "ReinCatalogTests", dependencies: ["ReinCatalog", "ReinSigV4", "ReinCrypto"]),
        .testTarget(name: "ReinPolicyTests", dependencies: ["ReinPolicy", "ReinCatalog", "ReinUpstream", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "ReinTLSTests", dependencies: ["ReinTLS", "CReinOpenSSL"]),
        .testTarget(name: "ReinUpstreamTests", dependencies: ["ReinUpstream"]),
        .testTarget(name: "ReinBrokerTests", dependencies: ["ReinBroker", "ReinUpstream", "ReinSigV4"]),
        .testTarget(name: "ReinAuditTests", dependencies: ["ReinAudit", "ReinCrypto"]),
        .testTarget(name: "ReinComplianceTests", dependencies: ["ReinCompliance", "ReinCrypto"]),
        .testTarget(
            name: "ReinCollectorTests",
            dependencies: [
                "ReinCollector", "ReinCollectorClient", "ReinStore", "ReinAudit", "ReinCrypto", "ReinPolicy", "ReinServiceKit", "ReinUpstream",
                "ReinHolds", "ReinCompliance", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ReinSidecarTests",
            dependencies: [
                "ReinSidecar", "ReinSigV4", "ReinAudit", "ReinPolicy", "ReinCatalog", "ReinCrypto", "ReinTLS", "ReinServiceKit", "CReinOpenSSL",
                "ReinHolds", "ReinStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)
