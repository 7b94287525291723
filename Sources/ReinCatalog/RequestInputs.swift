import Foundation
import ReinSigV4

/// Reads an operation's input members out of a request, wherever the
/// protocol puts them: URI labels, query string, headers, or a JSON, CBOR,
/// XML or form-encoded body. Ambiguity is an error, never a guess: a scalar
/// member sent twice, or a body that does not parse strictly.
struct RequestInputs {
    let request: CatalogRequest
    let operation: OperationModel
    let `protocol`: AWSProtocol
    let labels: LabelValues
    /// Form parameters for query/ec2 (query string plus form body).
    let form: [(key: String, value: String)]
    private var jsonBody: JSONValue?
    private var xmlBody: XMLTree?
    private var bodyParsed = false

    init(request: CatalogRequest, operation: OperationModel, protocol: AWSProtocol, labels: LabelValues,
         form: [(key: String, value: String)]) {
        self.request = request
        self.operation = operation
        self.protocol = `protocol`
        self.labels = labels
        self.form = form
    }

    /// Whether a member is present at all, scalar or not (for conditions).
    mutating func isPresent(_ path: InputPath) throws(UnknownReason) -> Bool {
        presence = true
        defer { presence = false }
        return !(try rawValues(path)).isEmpty
    }

    /// While set, structures, lists and maps count as values too.
    private var presence = false

    /// Every string value a path yields (or its default when it yields none).
    mutating func values(_ path: InputPath) throws(UnknownReason) -> [String] {
        let found = try rawValues(path)
        if found.isEmpty, let d = path.defaultValue { return [d] }
        return found
    }

    /// Whether a condition holds: `M` (present) or `M=V` (has that value).
    mutating func holds(_ condition: String) throws(UnknownReason) -> Bool {
        if let eq = condition.firstIndex(of: "=") {
            let values = try values(InputPath(String(condition[..<eq])))
            return values.contains(String(condition[condition.index(after: eq)...]))
        }
        return try isPresent(InputPath(condition))
    }

    private mutating func rawValues(_ path: InputPath) throws(UnknownReason) -> [String] {
        guard let member = operation.input(path.member) else {
            throw UnknownReason(.unresolvedResource, "operation \(operation.name) has no input member \(path.member)")
        }
        let isList = member.type == "list" || member.type == "map"
        switch member.location {
        case .uri:
            return labels[member.locationName].map { [$0] } ?? []
        case .querystring:
            let found = request.queryItems.filter { $0.key == member.locationName }.map(\.value)
            if found.count > 1 && !isList {
                throw UnknownReason(.ambiguous, "query parameter \(member.locationName) appears \(found.count) times but \(operation.name) reads it once")
            }
            return found
        case .header:
            let found = request.headerValues(member.lowercasedLocationName)
            if found.count > 1 && !isList {
                throw UnknownReason(.ambiguous, "header \(member.locationName) appears \(found.count) times but \(operation.name) reads it once")
            }
            return found
        case .headers:
            return []
        case .body:
            return try bodyValues(member: member, path: path)
        }
    }

    private mutating func bodyValues(member: InputMember, path: InputPath) throws(UnknownReason) -> [String] {
        switch `protocol` {
        case .query, .ec2:
            return formValues(member: member, path: path)
        case .json, .restJSON, .rpcV2CBOR:
            let body = try parsedJSON()
            var current: [JSONValue]
            if operation.payloadMember == member.name {
                current = [body]
            } else {
                guard case .object(let object) = body else {
                    throw UnknownReason(.malformedBody, "the \(`protocol`.rawValue) body of \(operation.name) is not an object")
                }
                current = object[member.locationName].map { [$0] } ?? []
            }
            current = Self.expand(current, path.each)
            for (n, step) in path.steps.enumerated() {
                let last = n == path.steps.count - 1
                current = current.flatMap { value -> [JSONValue] in
                    guard case .object(let object) = value else { return [] }
                    if step.name == "*" { return object.entries.map(\.value) }
                    if let found = object[step.name] { return [found] }
                    // A default applies per element (each PutEvents entry's bus).
                    if last, let d = path.defaultValue { return [.string(d)] }
                    return []
                }
                current = Self.expand(current, step.each)
            }
            return current.compactMap { value in
                switch value {
                case .string(let s): return s
                case .number(let n): return n
                case .bool(let b): return b ? "true" : "false"
                case .null: return nil
                default: return presence ? "" : nil
                }
            }
        case .restXML:
            let root = try parsedXML()
            var nodes = operation.payloadMember == member.name ? [root] : root.children(named: member.locationName)
            for step in path.steps {
                nodes = nodes.flatMap { $0.children(named: step.name) }
            }
            return nodes.map { presence && $0.text.isEmpty ? " " : $0.text }
        }
    }

    private static func expand(_ values: [JSONValue], _ each: InputPath.Each) -> [JSONValue] {
        switch each {
        case .one: return values
        case .elements:
            return values.flatMap { value -> [JSONValue] in
                if case .array(let items) = value { return items }
                return []
            }
        case .keys:
            return values.flatMap { value -> [JSONValue] in
                if case .object(let object) = value { return object.entries.map { .string($0.key) } }
                return []
            }
        }
    }

    /// Query-protocol parameters: `Name`, list elements `Name.member.N` or
    /// `Name.N`, and nested `Name.member.N.Field`.
    private func formValues(member: InputMember, path: InputPath) -> [String] {
        let key = member.locationName
        if path.each == .one && path.steps.isEmpty {
            let direct = form.filter { $0.key == key }.map(\.value)
            if presence && direct.isEmpty && form.contains(where: { $0.key.hasPrefix(key + ".") }) { return [""] }
            return direct
        }
        let suffix = path.steps.map(\.name).joined(separator: ".")
        return form.compactMap { item -> String? in
            guard item.key.hasPrefix(key + ".") else { return nil }
            var tail = item.key.dropFirst(key.count + 1)
            if tail.hasPrefix("member.") { tail = tail.dropFirst("member.".count) }
            guard let dot = tail.firstIndex(of: ".") ?? (suffix.isEmpty ? tail.endIndex : nil) else { return nil }
            guard Int(tail[..<dot]) != nil else { return nil }
            let after = dot == tail.endIndex ? "" : String(tail[tail.index(after: dot)...])
            return after == suffix ? item.value : nil
        }
    }

    /// A body whose declared Content-Type is another format than the
    /// protocol's is ambiguous: AWS and Rein might read it differently.
    private func checkDeclaredType(forbidden: [String], expected: String) throws(UnknownReason) {
        guard let declared = request.headerValues("content-type").first?.lowercased() else { return }
        if forbidden.contains(where: { declared.hasPrefix($0) }) {
            throw UnknownReason(.malformedBody, "the body is declared as \(declared.prefix(80)) but \(operation.name) takes \(expected)")
        }
    }

    private mutating func parsedJSON() throws(UnknownReason) -> JSONValue {
        if let jsonBody { return jsonBody }
        try checkDeclaredType(forbidden: ["application/x-www-form-urlencoded", "application/xml", "text/xml", "multipart/"],
                              expected: `protocol` == .rpcV2CBOR ? "CBOR" : "JSON")
        let bytes = try bodyBytes()
        let value: JSONValue
        if bytes.isEmpty {
            value = .object(JSONObject())
        } else if `protocol` == .rpcV2CBOR {
            do { value = try CBOR.decode(bytes) } catch {
                throw UnknownReason(.malformedBody, "the CBOR body does not decode strictly: \(error)")
            }
        } else {
            do { value = try StrictJSON.parse(bytes) } catch {
                throw UnknownReason(.malformedBody, "the JSON body does not parse strictly: \(error)")
            }
        }
        jsonBody = value
        return value
    }

    private mutating func parsedXML() throws(UnknownReason) -> XMLTree {
        if let xmlBody { return xmlBody }
        try checkDeclaredType(forbidden: ["application/json", "application/x-amz-json", "application/x-www-form-urlencoded", "application/cbor"],
                              expected: "XML")
        let bytes = try bodyBytes()
        do {
            let tree = try XMLTree.parse(bytes)
            xmlBody = tree
            return tree
        } catch {
            throw UnknownReason(.malformedBody, "the XML body does not parse: \(error)")
        }
    }

    private func bodyBytes() throws(UnknownReason) -> [UInt8] {
        switch request.body {
        case .bytes(let b): return b
        case .notBuffered:
            throw UnknownReason(.bodyNotInspected, "\(operation.name) names resources in its body, which was not inspected")
        }
    }
}
