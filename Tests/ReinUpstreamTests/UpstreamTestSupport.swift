import Foundation
import Logging
import Synchronization
import Testing
@testable import ReinUpstream

/// The Python fixture upstream (Tests/fixtures/upstream_server.py), one per test.
final class FixtureServer {
    let process = Process()
    let port: Int
    private let stdin = Pipe()

    struct StartFailure: Error, CustomStringConvertible {
        let description: String
    }

    init() throws {
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/upstream_server.py")
        let stdout = Pipe()
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script.path]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path]
        }
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line: [UInt8] = []
        while !line.contains(UInt8(ascii: "\n")) {
            let data = stdout.fileHandleForReading.availableData
            if data.isEmpty { break }
            line.append(contentsOf: data)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw StartFailure(description: "fixture server did not report a port: \(String(decoding: line, as: UTF8.self))")
        }
        self.port = port
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Kills the server by PID and reaps it.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? stdin.fileHandleForWriting.close()
    }
}

func makeEngine(_ configuration: UpstreamConfiguration = UpstreamConfiguration()) throws -> UpstreamEngine {
    let engine = UpstreamEngine(configuration: configuration, logger: Logger(label: "rein.upstream.tests"))
    try engine.start()
    return engine
}

/// SHA-256 from the system libcrypto, loaded with dlopen because the test target links
/// only ReinUpstream; hashing 256 MiB in unoptimised Swift would dominate the test time.
/// Used by one thread at a time.
final class SHA256Digest {
    private let context: OpaquePointer

    init() {
        let api = LibCrypto.shared
        context = api.newContext()
        _ = api.initDigest(context, api.sha256(), nil)
    }

    deinit { LibCrypto.shared.freeContext(context) }

    func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = LibCrypto.shared.update(context, $0.baseAddress, $0.count) }
    }

    /// Finalises the digest; call once.
    func hex() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = LibCrypto.shared.final(context, &out, &length)
        return out.map { String(format: "%02x", $0) }.joined()
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digest = SHA256Digest()
        digest.update(bytes)
        return digest.hex()
    }
}

/// The EVP entry points. `@unchecked Sendable` is safe: the fields are immutable C
/// function pointers resolved once, and EVP contexts are never shared between threads.
struct LibCrypto: @unchecked Sendable {
    let newContext: @convention(c) () -> OpaquePointer
    let freeContext: @convention(c) (OpaquePointer) -> Void
    let sha256: @convention(c) () -> OpaquePointer
    let initDigest: @convention(c) (OpaquePointer, OpaquePointer, OpaquePointer?) -> Int32
    let update: @convention(c) (OpaquePointer, UnsafeRawPointer?, Int) -> Int32
    let final: @convention(c) (OpaquePointer, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt32>) -> Int32

    static let shared: LibCrypto = {
        guard let library = dlopen("libcrypto.so.3", RTLD_NOW) ?? dlopen("libcrypto.so", RTLD_NOW) else {
            fatalError("libcrypto is not loadable")
        }
        func symbol<T>(_ name: String, as: T.Type) -> T {
            guard let pointer = dlsym(library, name) else { fatalError("libcrypto lacks \(name)") }
            return unsafeBitCast(pointer, to: T.self)
        }
        return LibCrypto(
            newContext: symbol("EVP_MD_CTX_new", as: (@convention(c) () -> OpaquePointer).self),
            freeContext: symbol("EVP_MD_CTX_free", as: (@convention(c) (OpaquePointer) -> Void).self),
            sha256: symbol("EVP_sha256", as: (@convention(c) () -> OpaquePointer).self),
            initDigest: symbol("EVP_DigestInit_ex", as: (@convention(c) (OpaquePointer, OpaquePointer, OpaquePointer?) -> Int32).self),
            update: symbol("EVP_DigestUpdate", as: (@convention(c) (OpaquePointer, UnsafeRawPointer?, Int) -> Int32).self),
            final: symbol("EVP_DigestFinal_ex", as: (@convention(c) (OpaquePointer, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt32>) -> Int32).self)
        )
    }()
}

/// Records every delegate event; optional hooks let a test react on the curl thread.
final class Recorder: UpstreamDelegate {
    struct Events {
        var status: Int?
        var headers: [(name: String, value: String)] = []
        var headCount = 0
        var body: [UInt8] = []
        var bodyChunks = 0
        var result: Result<UpstreamTimings, UpstreamError>?
        var finishCount = 0
        var canAcceptCount = 0
    }

    let events = Mutex(Events())
    private let finished = DispatchSemaphore(value: 0)
    private let onBody: (@Sendable (UpstreamExchange, Int) -> Void)?
    private let onCanAccept: (@Sendable (UpstreamExchange) -> Void)?

    init(onBody: (@Sendable (UpstreamExchange, Int) -> Void)? = nil, onCanAccept: (@Sendable (UpstreamExchange) -> Void)? = nil) {
        self.onBody = onBody
        self.onCanAccept = onCanAccept
    }

    func didReceiveHead(_ exchange: UpstreamExchange, status: Int, headers: [(name: String, value: String)]) {
        events.withLock { e in
            e.status = status
            e.headers = headers
            e.headCount += 1
        }
    }

    func didReceiveBody(_ exchange: UpstreamExchange, bytes: [UInt8]) {
        let total = events.withLock { e -> Int in
            e.body.append(contentsOf: bytes)
            e.bodyChunks += 1
            return e.body.count
        }
        onBody?(exchange, total)
    }

    func upstreamCanAcceptMoreBody(_ exchange: UpstreamExchange) {
        events.withLock { $0.canAcceptCount += 1 }
        onCanAccept?(exchange)
    }

    func didFinish(_ exchange: UpstreamExchange, result: Result<UpstreamTimings, UpstreamError>) {
        events.withLock { e in
            e.result = result
            e.finishCount += 1
        }
        finished.signal()
    }

    /// Waits for didFinish; nil on timeout.
    @discardableResult
    func wait(seconds: Double = 30) -> Result<UpstreamTimings, UpstreamError>? {
        guard finished.wait(timeout: .now() + seconds) == .success else { return nil }
        return events.withLock { $0.result }
    }

    var status: Int? { events.withLock { $0.status } }
    var body: [UInt8] { events.withLock { $0.body } }

    func header(_ name: String) -> String? {
        events.withLock { e in e.headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    var error: UpstreamError? {
        if case .failure(let error) = events.withLock({ $0.result }) { return error }
        return nil
    }

    var timings: UpstreamTimings? {
        if case .success(let timings) = events.withLock({ $0.result }) { return timings }
        return nil
    }
}

/// The `headers` array of the echo route's JSON, as (name, value) pairs in wire order.
func echoedHeaders(_ body: [UInt8]) -> [(name: String, value: String)]? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
          let pairs = object["headers"] as? [[String]] else { return nil }
    return pairs.compactMap { $0.count == 2 ? (name: $0[0], value: $0[1]) : nil }
}

func sameHeaders(_ a: [(name: String, value: String)], _ b: [(name: String, value: String)]) -> Bool {
    a.elementsEqual(b) { $0.name == $1.name && $0.value == $1.value }
}

/// Deterministic pseudo-random test bytes.
func testPayload(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var generator = SplitMix(state: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
