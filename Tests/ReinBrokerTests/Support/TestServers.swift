import Foundation
import ReinUpstream
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct TestServerError: Error, CustomStringConvertible {
    let description: String
}

/// `Tests/fixtures/metadata_server.py`, one instance per test, so that its
/// request log belongs to that test alone. The server exits by itself when
/// its stdin (held here) closes, should the test process die first.
final class MetadataServer: @unchecked Sendable {
    // @unchecked: `process` and `stdin` are set in init and only read afterwards.
    private let process: Process
    private let stdin: Pipe
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    static let scriptPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/metadata_server.py").path

    init(_ arguments: [String] = []) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.scriptPath] + arguments
        let stdout = Pipe()
        stdin = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        process.standardError = FileHandle.nullDevice
        try process.run()
        var data = Data()
        while !data.contains(0x0A) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        let line = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            process.terminate()
            throw TestServerError(description: "metadata_server.py did not report its port: \(line.debugDescription)")
        }
        self.port = port
    }

    deinit { stop() }

    func stop() {
        guard process.isRunning else { return }
        // SIGKILL: a child may inherit a signal mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    struct Recorded: Decodable {
        let method: String
        let path: String
        let headers: [String: String]
        let body: String

        /// The form fields of an STS request body.
        var form: [String: String] {
            var out: [String: String] = [:]
            for pair in body.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode = { (s: Substring) in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
                out[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
            }
            return out
        }
    }

    struct Log: Decodable {
        let requests: [Recorded]
        let imdsv1_attempts: Int
    }

    func log() throws -> Log {
        let response = try HTTPClient().send(HTTPClientRequest(url: base + "/_requests"))
        var log = try JSONDecoder().decode(Log.self, from: Data(response.body))
        // The log request itself is recorded too; leave it out.
        log = Log(requests: log.requests.filter { $0.path != "/_requests" }, imdsv1_attempts: log.imdsv1_attempts)
        return log
    }
}

/// One `moto_server` for the whole test run, started on first use and
/// killed by PID when the test process exits.
enum Moto {
    private static let state = Mutex<Result<Int, TestServerError>?>(nil)
    private static let pids = Mutex<[pid_t]>([])

    /// The moto endpoint, e.g. `http://127.0.0.1:50111`.
    static func endpoint() throws -> String {
        let port = try state.withLock { s -> Int in
            let result = s ?? start()
            s = result
            return try result.get()
        }
        return "http://127.0.0.1:\(port)"
    }

    private static func start() -> Result<Int, TestServerError> {
        guard let port = freePort() else { return .failure(TestServerError(description: "no free port")) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["moto_server", "-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return .failure(TestServerError(description: "cannot start moto_server: \(error)")) }
        let pid = process.processIdentifier
        pids.withLock { $0.append(pid) }
        atexit {
            for pid in Moto.pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let r = try? HTTPClient().send(HTTPClientRequest(url: "http://127.0.0.1:\(port)/moto-api/", timeout: 2)), r.status == 200 {
                return .success(port)
            }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        return .failure(TestServerError(description: "moto_server did not answer GET /moto-api/ on port \(port)"))
    }

    /// A port the kernel just handed out (bound to port 0, then released).
    private static func freePort() -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return nil }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// A temporary directory removed when the value is released.
final class TempDir: @unchecked Sendable {
    // @unchecked: `path` is immutable.
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rein-broker-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}
