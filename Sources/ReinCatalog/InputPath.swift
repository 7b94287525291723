/// A compiled catalog path (see Tools/catalog/generate.py): where a value
/// lives in a request, e.g. `RequestItems{}`, `Delete.Object[].Key` or
/// `CopySource#bucket`. Compiled once when a service is decoded.
struct InputPath: Sendable, Equatable {
    enum Each: Sendable, Equatable {
        /// The value itself.
        case one
        /// Every element of a list.
        case elements
        /// Every key of a map.
        case keys
    }

    struct Step: Sendable, Equatable {
        /// A wire name, or "*" for any member.
        let name: String
        let each: Each
    }

    let member: String
    let each: Each
    let steps: [Step]
    let transform: String?
    /// The value when the member is absent (`EventBusName|default`).
    let defaultValue: String?
    let text: String

    init(_ text: String) {
        self.text = text
        var body = Substring(text)
        if let bar = body.firstIndex(of: "|") {
            defaultValue = String(body[body.index(after: bar)...])
            body = body[..<bar]
        } else {
            defaultValue = nil
        }
        if let hash = body.firstIndex(of: "#") {
            transform = String(body[body.index(after: hash)...])
            body = body[..<hash]
        } else {
            transform = nil
        }
        var parts = body.split(separator: ".", omittingEmptySubsequences: false).map { part -> Step in
            if part.hasSuffix("[]") { return Step(name: String(part.dropLast(2)), each: .elements) }
            if part.hasSuffix("{}") { return Step(name: String(part.dropLast(2)), each: .keys) }
            return Step(name: String(part), each: .one)
        }
        let head = parts.isEmpty ? Step(name: "", each: .one) : parts.removeFirst()
        member = head.name
        each = head.each
        steps = parts
    }
}
