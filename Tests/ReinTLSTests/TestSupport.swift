import CReinOpenSSL
import Foundation
@testable import ReinTLS

/// A fresh directory under the system temporary directory, removed on deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/rein-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a tool (the system `openssl`) and returns its status and combined output.
func runTool(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

func fileMode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
}

/// An OpenSSL client over memory BIOs (the C shim's test support), driven by hand.
final class TestTLSClient {
    let context: OpaquePointer
    let ssl: OpaquePointer

    struct SetupFailed: Error {}

    init(caPEM: String?, serverName: String?, minVersion: Int32 = 0, maxVersion: Int32 = 0,
         alpn: [String] = []) throws {
        var wire: [UInt8] = []
        for proto in alpn { wire.append(UInt8(proto.utf8.count)); wire += Array(proto.utf8) }
        let ca = caPEM.map { Array($0.utf8) }
        let made: OpaquePointer? = wire.withUnsafeBufferPointer { alpnBytes in
            if let ca {
                return ca.withUnsafeBytes {
                    CReinOpenSSL_tls_test_client_ctx_new($0.baseAddress, $0.count, minVersion, maxVersion,
                                                         alpn.isEmpty ? nil : alpnBytes.baseAddress, alpnBytes.count)
                }
            }
            return CReinOpenSSL_tls_test_client_ctx_new(nil, 0, minVersion, maxVersion,
                                                        alpn.isEmpty ? nil : alpnBytes.baseAddress, alpnBytes.count)
        }
        guard let made else { throw SetupFailed() }
        context = made
        guard let connection = CReinOpenSSL_ssl_new_client(made, serverName) else {
            SSL_CTX_free(made)
            throw SetupFailed()
        }
        ssl = connection
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    var isHandshakeComplete: Bool { SSL_is_init_finished(ssl) == 1 }
    var verifyResult: Int { SSL_get_verify_result(ssl) }
    var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// Steps the handshake; returns SSL_get_error's code (SSL_ERROR_NONE when done).
    @discardableResult
    func handshake() -> Int32 {
        let result = SSL_do_handshake(ssl)
        return result == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, result)
    }

    func feed(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        _ = bytes.withUnsafeBytes { CReinOpenSSL_ssl_feed(ssl, $0.baseAddress, $0.count) }
    }

    func drain() -> [UInt8] {
        let count = CReinOpenSSL_ssl_pending_out(ssl)
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { CReinOpenSSL_ssl_drain(ssl, $0.baseAddress, $0.count) }
        return Array(bytes[0..<n])
    }

    func write(_ bytes: [UInt8]) -> Bool {
        var written = 0
        return bytes.withUnsafeBytes { SSL_write_ex(ssl, $0.baseAddress, $0.count, &written) } == 1
            && written == bytes.count
    }

    /// Everything decryptable now; `closed` when close_notify arrived.
    func read() -> (data: [UInt8], closed: Bool, error: Int32) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            var count = 0
            let ok = buffer.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
            if ok == 1 { out += buffer[0..<count]; continue }
            let code = SSL_get_error(ssl, ok)
            return (out, code == SSL_ERROR_ZERO_RETURN, code)
        }
    }

    /// OpenSSL's error queue text on this thread (the client's failure reason).
    func errors() -> String { OpenSSLErrorQueue.drain() ?? "" }
}

/// Shuttles bytes between a client and a server engine until both are done
/// or one fails. Returns the server's error, if any, and everything the
/// server decrypted on the way.
@discardableResult
func pump(_ client: TestTLSClient, _ server: TLSServerConnection, rounds: Int = 10) -> (serverError: TLSError?, plaintext: [UInt8]) {
    var plaintext: [UInt8] = []
    for _ in 0..<rounds {
        if !client.isHandshakeComplete { client.handshake() }
        server.feed(ciphertext: client.drain())
        do {
            loop: while true {
                switch try server.readPlaintext() {
                case .data(let bytes): plaintext += bytes
                case .wantMoreInput, .closed: break loop
                }
            }
        } catch {
            client.feed(server.drainCiphertext())
            client.handshake()
            return (error, plaintext)
        }
        client.feed(server.drainCiphertext())
        if client.isHandshakeComplete && server.isHandshakeComplete && client.drainPending == 0 { break }
    }
    return (nil, plaintext)
}

extension TestTLSClient {
    var drainPending: Int { CReinOpenSSL_ssl_pending_out(ssl) }
}
