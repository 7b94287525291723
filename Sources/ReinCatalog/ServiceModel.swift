/// One AWS service as the generated catalog describes it (see
/// Tools/catalog/generate.py for the field meanings).
public final class ServiceModel: Sendable, Decodable {
    public let name: String
    public let serviceId: String?
    public let apiVersion: String?
    /// Protocols in botocore's order of preference; unknown names are dropped.
    public let protocols: [AWSProtocol]
    public let signingName: String
    public let endpointPrefix: String
    public let targetPrefix: String?
    public let jsonVersion: String?
    /// The IAM action prefix, or nil when the IAM reference has no such service.
    public let iamPrefix: String?
    /// IAM resource type → ARN template, e.g. "object" → "arn:${Partition}:s3:::${BucketName}/${ObjectName}".
    public let resourceTypes: [String: String]
    /// Every IAM action name of the service's prefix.
    public let iamActions: [String]
    /// IAM action name → the resource types it can act on.
    public let iamActionResourceTypes: [String: [String]]
    public let operations: [OperationModel]

    enum CodingKeys: String, CodingKey {
        case name = "n", serviceId = "sid", apiVersion = "v", protocols = "p", signingName = "sn"
        case endpointPrefix = "ep", targetPrefix = "tp", jsonVersion = "jv", iamPrefix = "iam"
        case resourceTypes = "rt", iamActions = "ia", iamActionResourceTypes = "ir", operations = "ops"
    }

    public required init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        serviceId = try c.decodeIfPresent(String.self, forKey: .serviceId)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        protocols = try c.decode([String].self, forKey: .protocols).compactMap(AWSProtocol.init(rawValue:))
        signingName = try c.decode(String.self, forKey: .signingName)
        endpointPrefix = try c.decode(String.self, forKey: .endpointPrefix)
        targetPrefix = try c.decodeIfPresent(String.self, forKey: .targetPrefix)
        jsonVersion = try c.decodeIfPresent(String.self, forKey: .jsonVersion)
        iamPrefix = try c.decodeIfPresent(String.self, forKey: .iamPrefix)
        resourceTypes = try c.decodeIfPresent([String: String].self, forKey: .resourceTypes) ?? [:]
        iamActions = try c.decodeIfPresent([String].self, forKey: .iamActions) ?? []
        iamActionResourceTypes = try c.decodeIfPresent([String: [String]].self, forKey: .iamActionResourceTypes) ?? [:]
        operations = try c.decode([OperationModel].self, forKey: .operations)
        operationsByName = Dictionary(operations.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var byMethod: [String: RouteTable] = [:]
        for op in operations where !op.s3ExpressControl && !op.deprecated {
            let route = RESTRoute(operation: op, template: URITemplate(op.requestURI))
            var table = byMethod[op.method] ?? RouteTable()
            if case .literal(let first)? = route.template.segments.first {
                table.firstLiterals?.insert(first)
            } else {
                table.firstLiterals = nil
            }
            if route.template.greedy {
                table.greedy.append(route)
            } else {
                table.exact[route.template.minSegments, default: []].append(route)
            }
            byMethod[op.method] = table
        }
        restRoutes = byMethod
        compiledTypes = resourceTypes.mapValues(ARNTemplate.init)
    }

    /// The operation with this exact name.
    public func operation(named name: String) -> OperationModel? {
        operationsByName[name]
    }

    private let operationsByName: [String: OperationModel]
    /// Operations with their compiled URI templates by HTTP method and
    /// segment count, for REST routing (only plausible templates are tried).
    let restRoutes: [String: RouteTable]
    /// Resource types with their ARN templates compiled.
    let compiledTypes: [String: ARNTemplate]

    struct RESTRoute: Sendable {
        let operation: OperationModel
        let template: URITemplate
        /// Required header (lower-case) and query members, checked on a match.
        let requiredHeaders: [String]
        let requiredQuery: [String]

        init(operation: OperationModel, template: URITemplate) {
            self.operation = operation
            self.template = template
            requiredHeaders = operation.inputs.filter { $0.required && $0.location == .header }.map(\.lowercasedLocationName)
            requiredQuery = operation.inputs.filter { $0.required && $0.location == .querystring }.map(\.locationName)
        }
    }

    struct RouteTable: Sendable {
        var exact: [Int: [RESTRoute]] = [:]
        var greedy: [RESTRoute] = []
        /// When every template starts with a literal segment (S3 Control's
        /// "/v20180820/..."), those literals: other paths skip the table.
        var firstLiterals: Set<String>? = []

        func candidates(segmentCount: Int) -> [RESTRoute] {
            (exact[segmentCount] ?? []) + greedy.filter { $0.template.minSegments <= segmentCount }
        }
    }
}

/// One API operation: where its inputs live and what IAM evaluates for it.
public final class OperationModel: Sendable, Decodable {
    public let name: String
    public let method: String
    public let requestURI: String
    public let inputs: [InputMember]
    public let payloadMember: String?
    /// "prefix:Action", or nil when the IAM reference has no mapping (fail closed).
    public let action: String?
    public let variants: [ActionVariant]
    public let resources: [ResourceAlternative]
    public let unboundResourceTypes: [String]
    public let extraActions: [ExtraAction]
    /// An S3 Express control-plane operation: not routed under signing name "s3".
    public let s3ExpressControl: Bool
    /// The primary action applies only when its resources are present (transactions).
    public let actionOptional: Bool
    /// Every alternative applies at once (several required resource types).
    public let resourcesAll: Bool
    /// A request that names no resource acts on "*" (the server picks it).
    public let unnamedIsStar: Bool
    /// Where PartiQL statements live: each gives its own action and table.
    let partiqlPath: InputPath?
    /// Deprecated: not routed, because its replacement shares the URI.
    public let deprecated: Bool
    /// The IAM access level of `action` (the service authorization reference's).
    public let accessLevel: AccessLevel?

    /// How IAM classifies an action. Why it is here: it is AWS's own word on
    /// whether a call only reads (Read, List), which exports need for
    /// CloudTrail's `readOnly`; a verb in the operation's name is a guess.
    public enum AccessLevel: String, Sendable, Decodable {
        case read = "r", list = "l", write = "w", permissionsManagement = "p", tagging = "t"

        public var isReadOnly: Bool { self == .read || self == .list }
    }

    enum CodingKeys: String, CodingKey {
        case name = "n", method = "m", requestURI = "u", inputs = "in", payloadMember = "pl", action = "a"
        case variants = "av", resources = "r", unboundResourceTypes = "ur", extraActions = "x", s3ExpressControl = "sx", actionOptional = "ao"
        case resourcesAll = "ra", unnamedIsStar = "un", partiql = "pq", deprecated = "dp", accessLevel = "al"
    }

    public required init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        method = try c.decode(String.self, forKey: .method)
        requestURI = try c.decode(String.self, forKey: .requestURI)
        inputs = try c.decode([InputMember].self, forKey: .inputs)
        inputsByName = Dictionary(inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        payloadMember = try c.decodeIfPresent(String.self, forKey: .payloadMember)
        action = try c.decodeIfPresent(String.self, forKey: .action)
        variants = try c.decodeIfPresent([ActionVariant].self, forKey: .variants) ?? []
        resources = try c.decodeIfPresent([ResourceAlternative].self, forKey: .resources) ?? []
        unboundResourceTypes = try c.decodeIfPresent([String].self, forKey: .unboundResourceTypes) ?? []
        extraActions = try c.decodeIfPresent([ExtraAction].self, forKey: .extraActions) ?? []
        s3ExpressControl = try c.decodeIfPresent(Int.self, forKey: .s3ExpressControl) == 1
        actionOptional = try c.decodeIfPresent(Int.self, forKey: .actionOptional) == 1
        resourcesAll = try c.decodeIfPresent(Int.self, forKey: .resourcesAll) == 1
        unnamedIsStar = try c.decodeIfPresent(Int.self, forKey: .unnamedIsStar) == 1
        partiqlPath = try c.decodeIfPresent(String.self, forKey: .partiql).map(InputPath.init)
        deprecated = try c.decodeIfPresent(Int.self, forKey: .deprecated) == 1
        accessLevel = try c.decodeIfPresent(AccessLevel.self, forKey: .accessLevel)
    }

    /// The input member with this name.
    public func input(_ name: String) -> InputMember? {
        inputsByName[name]
    }

    private let inputsByName: [String: InputMember]

    /// Whether the IAM action names resource types at all (otherwise "*").
    public var hasResourceTypes: Bool { !resources.isEmpty || !unboundResourceTypes.isEmpty }
}

/// A top-level input member and where it travels on the wire.
public struct InputMember: Sendable, Decodable, Equatable {
    public enum Location: String, Sendable, Decodable {
        case uri, querystring, header, headers, body
    }

    public let name: String
    public let location: Location
    public let locationName: String
    /// For header members: the name as compared (HTTP names are case-insensitive).
    public let lowercasedLocationName: String
    /// The botocore shape type: string, list, map, structure, integer, ...
    public let type: String
    /// Whether the input shape requires it: a required header or query
    /// member tells operations on the same URI apart (CopyObject vs PutObject).
    public let required: Bool

    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        name = try c.decode(String.self)
        location = try c.decode(Location.self)
        locationName = try c.decode(String.self)
        lowercasedLocationName = locationName.lowercased()
        type = try c.decode(String.self)
        required = try c.decode(Int.self) == 1
    }
}

/// The action that replaces the primary one when a member is present
/// (e.g. s3:GetObjectVersion when GetObject carries a versionId).
public struct ActionVariant: Sendable, Decodable {
    public let ifPresent: String
    public let action: String
    let path: InputPath

    enum CodingKeys: String, CodingKey { case ifPresent = "if", action = "a" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ifPresent = try c.decode(String.self, forKey: .ifPresent)
        action = try c.decode(String.self, forKey: .action)
        path = InputPath(ifPresent)
    }
}

/// One way the request can name a resource: an IAM resource type and, for
/// each variable of its ARN template, the request path that fills it.
/// Type "*" with binding "*" means a member carries the whole ARN.
public struct ResourceAlternative: Sendable, Decodable {
    public let type: String
    public let bindings: [String: String]
    /// In an all-at-once group: added only when the request names it.
    public let optional: Bool
    /// Applies only when a member is present (`M`) or has a value (`M=V`).
    public let condition: String?
    /// The bindings compiled, in a stable order.
    let paths: [(variable: String, path: InputPath)]
    /// The variables that name the resource (all but an explicit account).
    let namedVariables: [String]

    enum CodingKeys: String, CodingKey { case type = "t", bindings = "b", optional = "o", condition = "if" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        bindings = try c.decode([String: String].self, forKey: .bindings)
        optional = try c.decodeIfPresent(Int.self, forKey: .optional) == 1
        condition = try c.decodeIfPresent(String.self, forKey: .condition)
        paths = bindings.sorted { $0.key < $1.key }.map { ($0.key, InputPath($0.value)) }
        namedVariables = paths.map(\.variable).filter { $0 != "Account" }
    }
}

/// A dependent action the request also exercises, with its own resources
/// (e.g. s3:GetObject on a copy's source object).
public struct ExtraAction: Sendable, Decodable {
    public let action: String
    public let resources: [ResourceAlternative]
    /// Skipped when the request names none of its resources.
    public let optional: Bool
    /// Acts on the primary action's resources (e.g. tagging on create).
    public let sameResources: Bool
    /// Applies only when this member is present.
    public let condition: String?
    public let unnamedIsStar: Bool
    public let variants: [ActionVariant]

    enum CodingKeys: String, CodingKey {
        case action = "a", resources = "r", optional = "o", sameResources = "s", condition = "if", unnamedIsStar = "un", variants = "av"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        action = try c.decode(String.self, forKey: .action)
        resources = try c.decodeIfPresent([ResourceAlternative].self, forKey: .resources) ?? []
        optional = try c.decodeIfPresent(Int.self, forKey: .optional) == 1
        sameResources = try c.decodeIfPresent(Int.self, forKey: .sameResources) == 1
        condition = try c.decodeIfPresent(String.self, forKey: .condition)
        unnamedIsStar = try c.decodeIfPresent(Int.self, forKey: .unnamedIsStar) == 1
        variants = try c.decodeIfPresent([ActionVariant].self, forKey: .variants) ?? []
    }
}
