import Foundation
import ReinAudit
import ReinUpstream

/// The calls a sidecar makes: register, heartbeat, ship a batch, fetch its policy.
extension CollectorClient {
    /// What a sidecar's calls may be answered with. A sidecar runs under a
    /// container's memory limit: receipts, registrations and heartbeats
    /// are a few hundred bytes; a policy, a hold or a grant echoes what was
    /// sent within the collector's 4 MiB request cap (a held DeleteObjects
    /// names every key). More is not a collector speaking (a proxy's page,
    /// a loop).
    static let smallAnswerBytes = 256 << 10
    static let documentAnswerBytes = 8 << 20

    /// A batch may take longer to send: 15 s plus 2 s per MiB compressed.
    static func shipTimeout(bytes: Int) -> Double { 15 + 2 * Double(bytes) / Double(1 << 20) }

    public func register(_ registration: CollectorMessages.Registration) throws(CollectorClientError) -> CollectorMessages.RegistrationReceipt {
        let r = try exchange("POST", "/v1/sidecars/register", body: try encode(registration), timeout: smallCallTimeout,
                             answerLimit: Self.smallAnswerBytes)
        return try json(CollectorMessages.RegistrationReceipt.self, r, "register")
    }

    public func heartbeat(_ heartbeat: CollectorMessages.Heartbeat, timeout: Double? = nil) throws(CollectorClientError) {
        _ = try exchange("POST", "/v1/sidecars/heartbeat", body: try encode(heartbeat), timeout: timeout ?? smallCallTimeout,
                         answerLimit: Self.smallAnswerBytes)
    }

    /// Ships chained record and checkpoint lines, gzip-compressed; returns
    /// only once the collector has them durably (its 200).
    public func ship(sidecarId: String, lines: [[UInt8]]) throws(CollectorClientError) -> CollectorMessages.BatchReceipt {
        var body: [UInt8] = []
        body.reserveCapacity(lines.reduce(0) { $0 + $1.count })
        for line in lines {
            body += line
            if line.last != UInt8(ascii: "\n") { body.append(UInt8(ascii: "\n")) }
        }
        let compressed: [UInt8]
        do { compressed = try Gzip.compress(body) } catch {
            throw CollectorClientError(kind: .protocolError, message: "cannot compress the batch: \(error)")
        }
        let r = try exchange("POST", "/v1/audit/batches", body: compressed, headers: [
            (name: "Content-Type", value: "application/x-ndjson"),
            (name: "Content-Encoding", value: "gzip"),
            (name: "X-Rein-Sidecar-Id", value: sidecarId),
        ], timeout: Self.shipTimeout(bytes: compressed.count), answerLimit: Self.smallAnswerBytes)
        return try json(CollectorMessages.BatchReceipt.self, r, "ship")
    }

    /// The outcome of a policy fetch.
    public enum PolicyFetch: Sendable, Equatable {
        /// A document newer than the ETag the caller had.
        case document(text: String, version: String, etag: String)
        /// Nothing newer (304), after waiting up to `wait` seconds.
        case notModified
        /// The collector has no policy for this agent.
        case none
    }

    /// Fetches the agent's current policy; with `etag` and `wait` it
    /// long-polls until a newer version exists.
    public func fetchPolicy(agentId: String, etag: String?, wait: Int = 0) throws(CollectorClientError) -> PolicyFetch {
        var headers: [(name: String, value: String)] = [(name: "Accept", value: "application/yaml")]
        if let etag { headers.append((name: "If-None-Match", value: etag)) }
        let query = wait > 0 ? [("wait", String(wait))] : []
        let r: HTTPClientResponse
        do {
            r = try exchange("GET", "/v1/policies/\(Self.escape(agentId))", query: query, headers: headers,
                             accept: [200, 304], timeout: Double(wait) + 30, answerLimit: Self.documentAnswerBytes)
        } catch where error.kind == .notFound {
            return .none
        }
        if r.status == 304 { return .notModified }
        let version = r.header("X-Rein-Policy-Version") ?? r.header("ETag").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "?"
        return .document(text: r.bodyText, version: version, etag: r.header("ETag") ?? "\"\(version)\"")
    }
}
