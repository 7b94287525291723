import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A small element tree of an XML request body (S3 and other rest-xml
/// services put resource names in bodies, e.g. DeleteObjects' keys).
/// Parsed with Foundation's XML parser; external entities are not resolved.
final class XMLTree: Sendable {
    let name: String
    let text: String
    let children: [XMLTree]

    init(name: String, text: String, children: [XMLTree]) {
        self.name = name
        self.text = text
        self.children = children
    }

    func children(named name: String) -> [XMLTree] { children.filter { $0.name == name } }

    struct ParseError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    static func parse(_ bytes: [UInt8], maxDepth: Int = 32) throws(ParseError) -> XMLTree {
        let delegate = Builder(maxDepth: maxDepth)
        let parser = XMLParser(data: Data(bytes))
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        guard parser.parse(), let root = delegate.root, delegate.failure == nil else {
            throw ParseError(message: delegate.failure ?? parser.parserError.map { "\($0)" } ?? "not well-formed XML")
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        struct Open { var name: String; var text: String; var children: [XMLTree] }
        var stack: [Open] = []
        var root: XMLTree?
        var failure: String?
        let maxDepth: Int

        init(maxDepth: Int) { self.maxDepth = maxDepth }

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            guard stack.count < maxDepth else {
                failure = "XML nested deeper than \(maxDepth)"
                parser.abortParsing()
                return
            }
            stack.append(Open(name: elementName, text: "", children: []))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !stack.isEmpty { stack[stack.count - 1].text += string }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            guard let open = stack.popLast() else { return }
            let node = XMLTree(name: open.name, text: open.text, children: open.children)
            if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
        }
    }
}
