import Foundation
import Synchronization

/// Rein's knowledge of every AWS service, generated from botocore's models
/// and the IAM service authorization reference (Tools/catalog).
///
/// Loading reads the file and indexes each service's routing keys; a
/// service's operations are decoded on first use, so start-up stays fast
/// and memory holds only the services an agent actually calls.
public final class ServiceCatalog: Sendable {
    public struct Header: Sendable, Decodable {
        public let format: Int
        public let botocore: String
        public let policy_sentry: String
        public let inputs_sha256: String
        public let services: Int
        public let operations: Int
    }

    /// The routing keys of one service, known without decoding its operations.
    public struct Entry: Sendable, Decodable {
        public let name: String
        public let protocols: [String]
        public let signingName: String
        public let endpointPrefix: String
        public let targetPrefix: String?
        public let iamPrefix: String?

        enum CodingKeys: String, CodingKey {
            case name = "n", protocols = "p", signingName = "sn", endpointPrefix = "ep", targetPrefix = "tp", iamPrefix = "iam"
        }
    }

    public struct LoadError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { "cannot load the AWS catalog: \(message)" }
    }

    public let header: Header
    public let entries: [Entry]
    private let lines: [Range<Int>]
    private let data: Data
    private let byName: [String: Int]
    private let bySigningName: [String: [Int]]
    private let decoded: Mutex<[Int: ServiceModel]>
    private let bySigningNameDecoded: Mutex<[String: [ServiceModel]]>

    /// Loads the catalog bundled with Rein.
    public static func bundled() throws(LoadError) -> ServiceCatalog {
        guard let url = Bundle.module.url(forResource: "aws-catalog", withExtension: "jsonl") else {
            throw LoadError(message: "the bundled aws-catalog.jsonl resource is missing")
        }
        return try ServiceCatalog(contentsOf: url)
    }

    public convenience init(contentsOf url: URL) throws(LoadError) {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw LoadError(message: "\(url.path): \(error.localizedDescription)")
        }
        try self.init(data: data)
    }

    public init(data: Data) throws(LoadError) {
        self.data = data
        var ranges: [Range<Int>] = []
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            for i in 0..<bytes.count where bytes[i] == 0x0A {
                if i > start { ranges.append(start..<i) }
                start = i + 1
            }
            if start < bytes.count { ranges.append(start..<bytes.count) }
        }
        guard let first = ranges.first else { throw LoadError(message: "the file is empty") }
        let decoder = JSONDecoder()
        do {
            header = try decoder.decode(Header.self, from: data.subdata(in: first))
        } catch {
            throw LoadError(message: "bad header line: \(error)")
        }
        guard header.format == 1 else { throw LoadError(message: "unsupported catalog format \(header.format)") }
        lines = Array(ranges.dropFirst())
        var entries: [Entry] = []
        entries.reserveCapacity(lines.count)
        for range in lines {
            // The routing keys come before "rt" in every line: decode only that prefix.
            let slice = data.subdata(in: range)
            let prefixEnd = slice.range(of: Data(#","rt":"#.utf8))?.lowerBound ?? slice.endIndex
            var prefix = slice.subdata(in: slice.startIndex..<prefixEnd)
            if prefixEnd != slice.endIndex { prefix.append(UInt8(ascii: "}")) }
            do {
                entries.append(try decoder.decode(Entry.self, from: prefix))
            } catch {
                throw LoadError(message: "bad service line: \(error)")
            }
        }
        guard entries.count == header.services else {
            throw LoadError(message: "header promises \(header.services) services, file has \(entries.count)")
        }
        self.entries = entries
        var byName: [String: Int] = [:], bySigning: [String: [Int]] = [:]
        for (i, e) in entries.enumerated() {
            byName[e.name] = i
            bySigning[e.signingName, default: []].append(i)
        }
        self.byName = byName
        self.bySigningName = bySigning
        decoded = Mutex([:])
        bySigningNameDecoded = Mutex([:])
    }

    /// The service with this botocore name (e.g. "s3control", "bedrock-runtime").
    public func service(named name: String) -> ServiceModel? {
        byName[name].flatMap(model(at:))
    }

    /// The SigV4 signing name of a service by its botocore name
    /// (`cloudwatch` → `monitoring`, `sesv2` → `ses`): the name AWS itself
    /// logs the service by (CloudTrail's `eventSource`). A name that is
    /// already a signing name is returned as it is; nil when unknown.
    public func signingName(ofService name: String) -> String? {
        if let i = byName[name] { return entries[i].signingName }
        return bySigningName[name] != nil ? name : nil
    }

    /// Whether an operation only reads, by its IAM access level (Read or
    /// List); nil when the catalog does not know the operation's action.
    public func isReadOnly(service name: String, operation: String) -> Bool? {
        let model = service(named: name) ?? services(signingName: name).first
        return model?.operation(named: operation)?.accessLevel?.isReadOnly
    }

    /// An IAM action in the catalog's spelling (`s3:putobject` →
    /// `s3:PutObject`): IAM matches action names case-insensitively, and so
    /// should a filter over recorded actions. Nil when the catalog does not
    /// know it.
    public func canonicalAction(_ action: String) -> String? {
        let parts = action.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let prefix = parts[0].lowercased()
        let name = parts[1].lowercased()
        return iamActions(prefix: prefix).first { $0.lowercased() == name }.map { "\(prefix):\($0)" }
    }

    /// Every service that signs with this SigV4 service name. Several can
    /// (S3 and S3 Control both sign as "s3").
    public func services(signingName: String) -> [ServiceModel] {
        if let hit = bySigningNameDecoded.withLock({ $0[signingName] }) { return hit }
        let models = (bySigningName[signingName] ?? []).compactMap(model(at:))
        if !models.isEmpty { bySigningNameDecoded.withLock { $0[signingName] = models } }
        return models
    }

    /// Every IAM action name of a prefix (e.g. "s3" → ["AbortMultipartUpload", ...]),
    /// and the prefix's resource types, for validating allowlists.
    public func iamActions(prefix: String) -> Set<String> {
        var names = Set<String>()
        for (i, e) in entries.enumerated() where e.iamPrefix == prefix {
            if let m = model(at: i) { names.formUnion(m.iamActions) }
        }
        return names
    }

    public func iamResourceTypes(prefix: String) -> [String: String] {
        var types: [String: String] = [:]
        for (i, e) in entries.enumerated() where e.iamPrefix == prefix {
            if let m = model(at: i) { types.merge(m.resourceTypes) { a, _ in a } }
        }
        return types
    }

    /// The ARN templates of an IAM action's resource types (empty: "*" only).
    public func resourceTemplates(action: String) -> [String] {
        let parts = action.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return [] }
        for (i, e) in entries.enumerated() where e.iamPrefix == String(parts[0]) {
            guard let m = model(at: i), let types = m.iamActionResourceTypes[String(parts[1])] else { continue }
            return types.compactMap { m.resourceTypes[$0] }
        }
        return []
    }

    /// Every IAM prefix the catalog knows.
    public var iamPrefixes: Set<String> { Set(entries.compactMap(\.iamPrefix)) }

    /// Whether any service signs with this name (without decoding).
    public func knowsSigningName(_ name: String) -> Bool { bySigningName[name] != nil }

    private func model(at index: Int) -> ServiceModel? {
        if let hit = decoded.withLock({ $0[index] }) { return hit }
        guard let model = try? JSONDecoder().decode(ServiceModel.self, from: data.subdata(in: lines[index])) else { return nil }
        decoded.withLock { $0[index] = model }
        return model
    }
}
