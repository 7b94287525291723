/// What Rein understood about a request: either everything the
/// enforcement layer needs, or *unknown* with the reason. Unknown is always
/// denied: Rein never guesses.
public enum CatalogVerdict: Sendable {
    case known(ResolvedRequest)
    case unknown(UnknownReason)

    public var resolved: ResolvedRequest? {
        if case .known(let r) = self { return r }
        return nil
    }
}

/// The service, operation, and every (IAM action, resources) pair a request exercises.
public struct ResolvedRequest: Sendable, Equatable {
    public let service: String
    public let signingName: String
    public let region: String
    public let operation: String
    public let `protocol`: AWSProtocol
    /// The JSON version for json-protocol services (error shapes need it).
    public let jsonVersion: String?
    public let grants: [ActionResources]

    public init(service: String, signingName: String, region: String, operation: String, protocol: AWSProtocol,
                jsonVersion: String?, grants: [ActionResources]) {
        self.service = service
        self.signingName = signingName
        self.region = region
        self.operation = operation
        self.protocol = `protocol`
        self.jsonVersion = jsonVersion
        self.grants = grants
    }

    /// Every action, in the order exercised, without repeats.
    public var actions: [String] {
        var seen = Set<String>()
        return grants.map(\.action).filter { seen.insert($0).inserted }
    }

    /// Every resource named, without repeats. "*" (an action without
    /// resource-level permissions) is listed only when nothing else is.
    public var resources: [String] {
        var seen = Set<String>()
        let all = grants.flatMap(\.resources).filter { seen.insert($0).inserted }
        let named = all.filter { $0 != "*" }
        return named.isEmpty ? all : named
    }
}

/// One IAM action and the resources it is exercised on ("*" when the
/// action supports no resource-level permissions).
public struct ActionResources: Sendable, Equatable {
    public let action: String
    public let resources: [String]

    public init(action: String, resources: [String]) {
        self.action = action
        self.resources = resources
    }
}

/// Why a request is unknown, in words an operator can act on.
public struct UnknownReason: Sendable, Equatable, CustomStringConvertible, Error {
    public enum Kind: String, Sendable {
        case unknownService = "unknown-service"
        case unknownOperation = "unknown-operation"
        case ambiguous
        case hostMismatch = "host-mismatch"
        case noIAMMapping = "no-iam-mapping"
        case unresolvedResource = "unresolved-resource"
        case bodyNotInspected = "body-not-inspected"
        case malformedBody = "malformed-body"
        case tooManyResources = "too-many-resources"
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
