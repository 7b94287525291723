import Foundation
import ReinBroker
import ReinPolicy
import ReinUpstream
import Yams

extension CollectorConfigurationLoader {
    private static let copyKeys: Set<String> = ["url", "region", "endpoint_url", "kms_key_id", "part_size", "credentials", "ca_file"]

    /// `backup.copy_to`, checked as far as can be without the network: the
    /// URL, the region, an endpoint that keeps the backup (and its signing
    /// key) off the network in clear, and a credentials chain that can be
    /// built from this environment.
    static func backupCopy(_ node: Node, environment: [String: String]) throws(CollectorConfigurationError) -> BackupCopyDestination {
        let place = "backup.copy_to"
        guard let map = node.mapping else {
            throw CollectorConfigurationError(key: place, message: "must be a mapping with at least url: s3://bucket/prefix", line: line(node))
        }
        var values: [String: (text: String, line: Int?)] = [:]
        var credentials: BrokerConfiguration?
        for (keyNode, valueNode) in map {
            let name = keyNode.string ?? "?"
            guard copyKeys.contains(name) else {
                throw CollectorConfigurationError(key: "\(place).\(name)", message: "unknown key (known: \(copyKeys.sorted().joined(separator: ", ")))", line: line(keyNode))
            }
            if name == "credentials" {
                credentials = try brokerConfiguration(valueNode, place: "\(place).credentials")
                continue
            }
            guard let text = valueNode.string, !text.isEmpty else {
                throw CollectorConfigurationError(key: "\(place).\(name)", message: "must be a single value", line: line(keyNode))
            }
            values[name] = (text, line(keyNode))
        }
        guard let url = values["url"] else {
            throw CollectorConfigurationError(key: "\(place).url", message: "is required: s3://bucket/prefix", line: line(node))
        }
        guard let (bucket, prefix) = BackupCopyDestination.parse(url.text) else {
            throw CollectorConfigurationError(key: "\(place).url", message: "\(ConfigText.quoted(url.text)) is not s3://bucket/prefix with a valid bucket name", line: url.line)
        }
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let region = values["region"]?.text ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") else {
            throw CollectorConfigurationError(key: "\(place).region", message: "is not set (nor AWS_REGION or AWS_DEFAULT_REGION): it must be the bucket's region", line: line(node))
        }
        guard STSClient.isPlausibleRegion(region) else {
            throw CollectorConfigurationError(key: "\(place).region", message: "\(ConfigText.quoted(region)) is not an AWS region name (e.g. eu-west-1)", line: values["region"]?.line)
        }
        var chain = credentials ?? defaultCredentials(environment)
        if chain.region == nil, chain.provider == .assumeRole || chain.provider == .webIdentity {
            chain.region = region  // STS in the bucket's region unless the section names one
        }
        var destination = BackupCopyDestination(bucket: bucket, prefix: prefix, region: region, credentials: chain)
        if let endpoint = values["endpoint_url"] {
            guard let parsed = EndpointURL(endpoint.text) else {
                throw CollectorConfigurationError(key: "\(place).endpoint_url", message: "'\(URLText.redacted(endpoint.text))' is not an http(s) URL without query or credentials", line: endpoint.line)
            }
            guard parsed.protectsCredentials else {
                throw CollectorConfigurationError(key: "\(place).endpoint_url", message: "'\(endpoint.text)' is plain http to a non-loopback host: the backup, and the collector's signing key in it, would cross the network in clear; use https", line: endpoint.line)
            }
            destination.endpoint = parsed
        }
        destination.kmsKeyId = values["kms_key_id"]?.text
        if let ca = values["ca_file"] {
            guard FileManager.default.isReadableFile(atPath: ca.text) else {
                throw CollectorConfigurationError(key: "\(place).ca_file", message: "\(ca.text) cannot be read", line: ca.line)
            }
            destination.caFile = ca.text
        }
        if let size = values["part_size"] {
            guard let bytes = ByteSizeText.bytes(size.text), bytes >= Int64(BackupCopyDestination.minimumPartSize), bytes <= 5 << 30 else {
                throw CollectorConfigurationError(key: "\(place).part_size", message: "\(ConfigText.quoted(size.text)) is not a size from 5MiB to 5GiB, such as 16MiB", line: size.line)
            }
            destination.partSize = Int(bytes)
        }
        do {
            _ = try BrokerChainFactory.make(destination.credentials, context: BrokerContext(agentId: "collector", taskId: "backup"),
                                            env: environment, http: HTTPClient())
        } catch {
            throw CollectorConfigurationError(key: "\(place).credentials", message: error.description, line: line(node))
        }
        return destination
    }

    /// `REIN_COLLECTOR_BACKUP_COPY_TO` (or the flag): the bucket and prefix
    /// replace the file's; with no `copy_to` in the file, the rest is as if
    /// the section held only `url`.
    static func overrideCopyURL(_ url: String, environment: [String: String], in config: inout CollectorConfiguration) throws(CollectorConfigurationError) {
        guard var copy = config.backupCopy else {
            config.backupCopy = try backupCopy(Node.mapping(Node.Mapping([(Node("url"), Node(url))])), environment: environment)
            return
        }
        guard let (bucket, prefix) = BackupCopyDestination.parse(url) else {
            throw CollectorConfigurationError(key: "backup.copy_to.url", message: "\(ConfigText.quoted(url)) is not s3://bucket/prefix with a valid bucket name")
        }
        copy.bucket = bucket
        copy.prefix = prefix
        config.backupCopy = copy
    }

    private static func brokerConfiguration(_ node: Node, place: String) throws(CollectorConfigurationError) -> BrokerConfiguration {
        guard node.mapping != nil else {
            throw CollectorConfigurationError(key: place, message: "must be a mapping such as {provider: web_identity}", line: line(node))
        }
        do {
            return try YAMLDecoder().decode(BrokerConfiguration.self, from: try Yams.serialize(node: node))
        } catch {
            throw CollectorConfigurationError(key: place, message: YAMLErrorText.describe(error), line: line(node))
        }
    }

    /// The provider the AWS SDKs would find first in this environment:
    /// keys in the environment, a web identity token (IRSA), a named
    /// profile, the container endpoint (ECS, EKS Pod Identity), else IMDS.
    static func defaultCredentials(_ environment: [String: String]) -> BrokerConfiguration {
        func set(_ name: String) -> Bool { !(environment[name] ?? "").isEmpty }
        if set("AWS_ACCESS_KEY_ID") { return BrokerConfiguration(provider: .static) }
        if set("AWS_WEB_IDENTITY_TOKEN_FILE") { return BrokerConfiguration(provider: .webIdentity) }
        if set("AWS_PROFILE") { return BrokerConfiguration(provider: .profile) }
        if set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            return BrokerConfiguration(provider: .container)
        }
        return BrokerConfiguration(provider: .imds)
    }
}
