import Foundation
import ReinAudit
import ReinUpstream

/// The collector's HTTP API (docs/collector-api.md) over system libcurl.
///
/// Why blocking: every caller is off the request path (the shipper's thread,
/// the policy fetcher's thread, the CLI), so a synchronous libcurl easy
/// handle per call is the simplest correct tool. The bearer token is held
/// here and never appears in a description, error or log line.
public struct CollectorClient: Sendable, CustomStringConvertible {
    public let baseURL: String
    /// A token given as text, or nil when it comes from `tokenFile`.
    private let fixedToken: String?
    /// Read again when the file changes (``init(baseURL:tokenFile:caBundlePath:timeout:)``).
    private let tokenFile: TokenFile?
    private var token: String { fixedToken ?? tokenFile?.token ?? "" }
    private let http: HTTPClient
    /// The CA file the collector's certificate is checked against (nil: the system store).
    private let caBundlePath: String?
    public var timeout: Double
    /// Registration and heartbeats are small: a collector that does not
    /// answer them in 10 s is hung, and the shipper's failure count (and
    /// `/metrics`) should say so then, not after the client's 30 s default.
    /// A caller that must get through a loaded machine (a test pinning a
    /// key first) may wait longer.
    public var smallCallTimeout: Double = 10

    public init(baseURL: String, token: String, caBundlePath: String? = nil, timeout: Double = 30) throws(CollectorClientError) {
        try self.init(baseURL: baseURL, token: token, tokenFile: nil, caBundlePath: caBundlePath, timeout: timeout)
    }

    /// A client whose token is read from `tokenFile` now and read again
    /// whenever the file changes, so that a rotated token (a replaced
    /// Kubernetes Secret) is used from the next call without a restart.
    public init(baseURL: String, tokenFile path: String, caBundlePath: String? = nil, timeout: Double = 30) throws(CollectorClientError) {
        let file = try TokenFile(path: path)
        try self.init(baseURL: baseURL, token: file.token, tokenFile: file, caBundlePath: caBundlePath, timeout: timeout)
    }

    private init(baseURL: String, token: String, tokenFile: TokenFile?, caBundlePath: String?, timeout: Double) throws(CollectorClientError) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        // A user or password in the URL would be logged with it wherever the
        // collector is named; the token file is how a client authenticates.
        let authority = base.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(2).first ?? ""
        guard !authority.contains("@") else {
            throw CollectorClientError(kind: .configuration, message: "the collector URL must not carry a user or password "
                                       + "(it would be written to logs); the token file authenticates")
        }
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw CollectorClientError(kind: .configuration, message: "the collector URL must start with http:// or https:// (got \(URLText.redacted(baseURL).debugDescription))")
        }
        let t = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty, !t.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw CollectorClientError(kind: .configuration, message: "the collector token is empty or spans lines")
        }
        // An empty path is unset; a CA file matters (and is checked) for https only.
        let caBundlePath = caBundlePath.flatMap { $0.isEmpty ? nil : $0 }
        if let caBundlePath, base.hasPrefix("https://") {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: caBundlePath, isDirectory: &isDirectory), !isDirectory.boolValue,
                  FileManager.default.isReadableFile(atPath: caBundlePath)
            else {
                throw CollectorClientError(kind: .configuration, message: "the CA file \(caBundlePath) does not exist or is not a readable file")
            }
        }
        self.baseURL = base
        fixedToken = tokenFile == nil ? t : nil
        self.tokenFile = tokenFile
        self.timeout = timeout
        http = HTTPClient(caBundlePath: caBundlePath, maxResponseBytes: 256 << 20)
        self.caBundlePath = caBundlePath
    }

    /// Reads the token from a file (trailing newline ignored), as Kubernetes
    /// mounts secrets; the file must not be readable by others.
    public static func token(fromFile path: String) throws(CollectorClientError) -> String {
        let bytes: [UInt8]?
        do { bytes = try SecretFile.read(path, group: .whenRootOwned) } catch {
            throw CollectorClientError(kind: .configuration, message: "the collector token file: \(error)")
        }
        guard let bytes else {
            throw CollectorClientError(kind: .configuration, message: "cannot read the collector token file \(SecretFile.shown(path)): no such file")
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public var description: String { "CollectorClient(\(baseURL), token: <redacted>)" }

    // MARK: - raw exchange

    /// Sends one request and maps transport failures and error statuses to
    /// ``CollectorClientError``; `accept` lists statuses that are answers.
    /// `answerLimit` caps the answer's size below the client's 256 MiB
    /// (which pages of records and reports need).
    public func exchange(_ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8] = [],
                         headers: [(name: String, value: String)] = [], accept: Set<Int> = [200],
                         timeout: Double? = nil, answerLimit: Int? = nil) throws(CollectorClientError) -> HTTPClientResponse {
        var url = baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        }
        var all = headers
        all.append((name: "Authorization", value: "Bearer \(token)"))
        if !body.isEmpty, !all.contains(where: { $0.name.lowercased() == "content-type" }) {
            all.append((name: "Content-Type", value: "application/json"))
        }
        var http = self.http
        if let answerLimit { http.maxResponseBytes = min(answerLimit, http.maxResponseBytes) }
        let response: HTTPClientResponse
        do {
            response = try http.send(HTTPClientRequest(method: method, url: url, headers: all, body: body, timeout: timeout ?? self.timeout))
        } catch {
            if error.curlCode == 60 {
                // CURLE_PEER_FAILED_VERIFICATION: not an outage, a trust problem; say which trust.
                let trust = caBundlePath.map { "the CA file \($0)" } ?? "the system's CA store (set a CA file: collector.ca_file, --ca-file)"
                throw CollectorClientError(kind: .unreachable, message: "\(method) \(path): the collector's TLS certificate is not trusted by \(trust): \(error.message)")
            }
            throw CollectorClientError(kind: .unreachable, message: "\(method) \(path): \(error.message)")
        }
        if accept.contains(response.status) { return response }
        let message = Self.errorMessage(response) ?? "HTTP \(response.status)"
        let kind: CollectorClientError.Kind
        switch response.status {
        case 401, 403: kind = .accessDenied
        case 404: kind = .notFound
        case 400..<500: kind = .rejected
        case 500...: kind = .server
        default: kind = .protocolError
        }
        // Retry-After in seconds (its HTTP-date form is not used by the collector).
        let retryAfter = [429, 503].contains(response.status) ? response.header("Retry-After").flatMap(Double.init).map { max(0, $0) } : nil
        throw CollectorClientError(kind: kind, status: response.status, message: "\(method) \(path): \(message)", body: response.body,
                                   retryAfter: retryAfter)
    }

    static func errorMessage(_ response: HTTPClientResponse) -> String? {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            let text = response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : String(text.prefix(500))
        }
        let code = obj["code"] as? String
        let message = obj["message"] as? String
        switch (code, message) {
        case let (c?, m?): return "\(c): \(m)"
        case let (c?, nil): return c
        case let (nil, m?): return m
        default: return nil
        }
    }

    static func escape(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    func json<T: Decodable>(_ type: T.Type, _ response: HTTPClientResponse, _ what: String) throws(CollectorClientError) -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(response.body)) } catch {
            throw CollectorClientError(kind: .protocolError, status: response.status, message: "\(what): unexpected answer: \(error)")
        }
    }

    func encode<T: Encodable>(_ value: T) throws(CollectorClientError) -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        do { return Array(try e.encode(value)) } catch {
            throw CollectorClientError(kind: .protocolError, message: "cannot encode the request: \(error)")
        }
    }
}
