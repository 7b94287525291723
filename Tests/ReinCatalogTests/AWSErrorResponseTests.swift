import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import ReinCatalog

/// Error answers have the exact shape each protocol's SDK parsers read.
/// `Tests/interop/test_error_shapes.py` feeds the fixtures written by
/// `writesInteropFixtures` to botocore's real parsers and clients.
struct AWSErrorResponseTests {
    static let requestId = "4442587FB7D0A2F9"
    static let message = "User: arn:aws:sts::123456789012:assumed-role/agent/s1 is not authorized to perform: s3:GetObject"

    func text(_ r: AWSErrorResponse) -> String { String(decoding: r.body, as: UTF8.self) }

    // MARK: Shapes

    @Test func s3() {
        let r = AWSErrorResponse.accessDenied(protocol: .restXML, signingName: "s3", message: "Access Denied", requestId: Self.requestId)
        #expect(r.status == 403)
        #expect(text(r) == """
        <?xml version="1.0" encoding="UTF-8"?>
        <Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>
        """)
        #expect(r.headers.map(\.0) == ["Content-Type", "Content-Length", "x-amz-request-id"])
        #expect(r.header("content-type") == "application/xml")
        #expect(r.header("X-Amz-Request-Id") == Self.requestId)
    }

    @Test func s3WithResource() {
        let r = AWSErrorResponse.make(protocol: .restXML, code: "AccessDenied", message: "Access Denied",
                                      requestId: "R1", status: 403, s3Resource: "/bucket/a&b.txt")
        #expect(text(r).hasSuffix("<Error><Code>AccessDenied</Code><Message>Access Denied</Message><Resource>/bucket/a&amp;b.txt</Resource><RequestId>R1</RequestId></Error>"))
    }

    /// S3 Control signs as `s3` but wraps its errors; the service name decides.
    @Test func s3ControlIsWrapped() {
        let r = AWSErrorResponse.accessDenied(protocol: .restXML, signingName: "s3", message: "Access Denied",
                                              requestId: "R2", service: "s3control")
        #expect(r.status == 403)
        #expect(text(r) == """
        <?xml version="1.0" encoding="UTF-8"?>
        <ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Access Denied</Message></Error><RequestId>R2</RequestId></ErrorResponse>
        """)
        let route53 = AWSErrorResponse.accessDenied(protocol: .restXML, signingName: "route53", message: "m", requestId: "R")
        #expect(text(route53).contains("<ErrorResponse>"))
    }

    @Test func query() {
        let r = AWSErrorResponse.accessDenied(protocol: .query, signingName: "sts", message: Self.message, requestId: "c6104cbe-af31-11e0-8154-cbc7ccf896c7",
                                              xmlNamespace: "https://sts.amazonaws.com/doc/2011-06-15/")
        #expect(r.status == 403)
        #expect(text(r) == """
        <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>\
        <Message>\(Self.message)</Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>
        """)
        #expect(r.headers.map(\.0) == ["Content-Type", "Content-Length", "x-amzn-RequestId"])
        #expect(r.header("Content-Type") == "text/xml")
    }

    @Test func ec2() {
        let r = AWSErrorResponse.accessDenied(protocol: .ec2, signingName: "ec2", message: "You are not authorized to perform this operation.", requestId: "R3")
        #expect(r.status == 403)
        #expect(text(r) == """
        <?xml version="1.0" encoding="UTF-8"?>
        <Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>R3</RequestID></Response>
        """)
        #expect(r.header("Content-Type") == "text/xml;charset=UTF-8")
    }

    @Test func json() throws {
        let r = AWSErrorResponse.accessDenied(protocol: .json, signingName: "dynamodb", message: Self.message, requestId: "R4", jsonVersion: "1.0")
        #expect(r.status == 400)
        #expect(text(r) == #"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"\#(Self.message)"}"#)
        #expect(r.headers.map(\.0) == ["Content-Type", "Content-Length", "x-amzn-RequestId", "x-amzn-ErrorType"])
        #expect(r.header("Content-Type") == "application/x-amz-json-1.0")
        #expect(r.header("x-amzn-ErrorType") == "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/")
        #expect(r.header("x-amzn-query-error") == nil)
        let kms = AWSErrorResponse.accessDenied(protocol: .json, signingName: "kms", message: "m", requestId: "R", jsonVersion: "1.1")
        #expect(kms.header("Content-Type") == "application/x-amz-json-1.1")
    }

    @Test func restJSON() throws {
        let r = AWSErrorResponse.accessDenied(protocol: .restJSON, signingName: "lambda", message: Self.message, requestId: "R5")
        #expect(r.status == 403)
        #expect(text(r) == #"{"__type":"AccessDeniedException","message":"\#(Self.message)"}"#)
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.header("x-amzn-ErrorType") == "AccessDeniedException")
        #expect(r.header("x-amzn-RequestId") == "R5")
    }

    @Test func rpcV2CBOR() throws {
        let r = AWSErrorResponse.accessDenied(protocol: .rpcV2CBOR, signingName: "monitoring", message: Self.message, requestId: "R6")
        #expect(r.status == 403)
        let body = try CBOR.decode(r.body)
        #expect(body.objectValue?.keys == ["__type", "message"])
        #expect(body["__type"] == .string("com.amazon.coral.service#AccessDeniedException"))
        #expect(body["message"] == .string(Self.message))
        #expect(r.body.first == 0xA2)  // a definite two-entry map
        #expect(r.headers.map(\.0) == ["Content-Type", "Content-Length", "smithy-protocol", "x-amzn-RequestId"])
        #expect(r.header("Content-Type") == "application/cbor")
        #expect(r.header("smithy-protocol") == "rpc-v2-cbor")
    }

    @Test func queryCompatibleServicesNameTheQueryCode() {
        for p in [AWSProtocol.json, .rpcV2CBOR] {
            let r = AWSErrorResponse.accessDenied(protocol: p, signingName: "sqs", message: "m", requestId: "R", queryCompatible: true)
            #expect(r.header("x-amzn-query-error") == "AccessDenied;Sender")
        }
        let xml = AWSErrorResponse.make(protocol: .query, code: "AccessDenied", message: "m", requestId: "R", status: 403, queryErrorCode: "X")
        #expect(xml.header("x-amzn-query-error") == nil)
    }

    @Test func makeKeepsCodeAndStatus() throws {
        let r = AWSErrorResponse.make(protocol: .json, code: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                                      message: "Requested resource not found", requestId: "R", status: 400, jsonVersion: "1.0")
        #expect(try StrictJSON.parse(r.body)["__type"] == .string("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"))
        #expect(r.header("x-amzn-ErrorType") == "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.dynamodb.v20120810/")
        let xml = AWSErrorResponse.make(protocol: .query, code: "aws.namespace#Throttling", message: "Rate exceeded", requestId: "R", status: 400)
        #expect(xml.status == 400)
        #expect(text(xml).contains("<Code>Throttling</Code>"))
        #expect(text(xml).hasPrefix("<ErrorResponse><Error>"))
    }

    @Test(arguments: AWSProtocol.allCases)
    func contentLengthAlwaysMatches(_ p: AWSProtocol) throws {
        let r = AWSErrorResponse.accessDenied(protocol: p, signingName: "svc", message: "Zugriff verweigert — 拒绝访问 😀", requestId: "R")
        #expect(r.header("Content-Length") == String(r.body.count))
        #expect(r.headers.filter { $0.0.lowercased() == "content-length" }.count == 1)
        #expect(r.header("Content-Type") != nil)
        #expect(r.status == (p == .json ? 400 : 403))
    }

    @Test func equalityComparesHeadersInOrder() {
        let a = AWSErrorResponse(status: 403, headers: [("A", "1"), ("B", "2")], body: [1])
        #expect(a == AWSErrorResponse(status: 403, headers: [("A", "1"), ("B", "2")], body: [1]))
        #expect(a != AWSErrorResponse(status: 403, headers: [("B", "2"), ("A", "1")], body: [1]))
        #expect(a != AWSErrorResponse(status: 403, headers: [("A", "1"), ("B", "3")], body: [1]))
        #expect(a != AWSErrorResponse(status: 403, headers: [("A", "1")], body: [1]))
        #expect(a != AWSErrorResponse(status: 400, headers: [("A", "1"), ("B", "2")], body: [1]))
        #expect(a != AWSErrorResponse(status: 403, headers: [("A", "1"), ("B", "2")], body: [2]))
    }

    // MARK: Escaping

    static let hostile = "a & b < c > d \"e\" 'f' — 拒绝访问 😀 é\u{301}\r\n\tend ]]> &amp;"

    @Test func xmlEscapesEverything() throws {
        #expect(AWSErrorResponse.xmlEscape(Self.hostile) == "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos; — 拒绝访问 😀 é\u{301}&#13;\n\tend ]]&gt; &amp;amp;")
        // Characters XML 1.0 cannot carry at all are replaced, not emitted.
        #expect(AWSErrorResponse.xmlEscape("x\u{0}\u{1}\u{B}\u{1F}\u{FFFE}y") == "x\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}y")
        for p in [AWSProtocol.restXML, .query, .ec2] {
            let r = AWSErrorResponse.accessDenied(protocol: p, signingName: "s3", message: Self.hostile, requestId: "R&1")
            let fields = try XMLFields.parse(r.body)
            #expect(fields["Message"] == Self.hostile, "\(p)")
            #expect(fields["Code"] == (p == .ec2 ? "UnauthorizedOperation" : "AccessDenied"))
            #expect(fields["RequestId"] ?? fields["RequestID"] == "R&1")
        }
    }

    @Test func jsonAndCBORCarryAnyMessage() throws {
        let message = Self.hostile + "\\ \u{0}\u{1F}\u{7F}\u{2028}"
        for p in [AWSProtocol.json, .restJSON] {
            let r = AWSErrorResponse.accessDenied(protocol: p, signingName: "x", message: message, requestId: "R")
            #expect(try StrictJSON.parse(r.body)["message"] == .string(message))
            let foundation = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]
            #expect((foundation?["message"] as? String)?.unicodeScalars.elementsEqual(message.unicodeScalars) == true)
        }
        let cbor = AWSErrorResponse.accessDenied(protocol: .rpcV2CBOR, signingName: "x", message: message, requestId: "R")
        #expect(try CBOR.decode(cbor.body)["message"] == .string(message))
    }

    // MARK: Interop fixtures

    struct Fixture: Sendable {
        let name: String
        let `protocol`: AWSProtocol
        let service: String
        let signingName: String
        let operation: String
        var jsonVersion: String? = nil
        var xmlNamespace: String? = nil
        var queryCompatible = false
    }

    /// One real service per protocol (two where the shape varies), each
    /// addressed as the router would.
    static let fixtures: [Fixture] = [
        Fixture(name: "s3", protocol: .restXML, service: "s3", signingName: "s3", operation: "GetObject"),
        Fixture(name: "s3control", protocol: .restXML, service: "s3control", signingName: "s3", operation: "GetPublicAccessBlock"),
        Fixture(name: "sts", protocol: .query, service: "sts", signingName: "sts", operation: "GetCallerIdentity",
                xmlNamespace: "https://sts.amazonaws.com/doc/2011-06-15/"),
        Fixture(name: "iam", protocol: .query, service: "iam", signingName: "iam", operation: "ListUsers",
                xmlNamespace: "https://iam.amazonaws.com/doc/2010-05-08/"),
        Fixture(name: "ec2", protocol: .ec2, service: "ec2", signingName: "ec2", operation: "DescribeInstances"),
        Fixture(name: "dynamodb", protocol: .json, service: "dynamodb", signingName: "dynamodb", operation: "GetItem", jsonVersion: "1.0"),
        Fixture(name: "kms", protocol: .json, service: "kms", signingName: "kms", operation: "ListKeys", jsonVersion: "1.1"),
        Fixture(name: "sqs-query-compatible", protocol: .json, service: "sqs", signingName: "sqs", operation: "ListQueues",
                jsonVersion: "1.0", queryCompatible: true),
        Fixture(name: "lambda", protocol: .restJSON, service: "lambda", signingName: "lambda", operation: "ListFunctions"),
        // botocore 1.43.11 prefers json over rpc-v2-cbor, so boto3 reaches
        // CloudWatch in JSON (with x-amzn-query-mode: true); other SDKs use CBOR.
        Fixture(name: "cloudwatch-json", protocol: .json, service: "cloudwatch", signingName: "monitoring",
                operation: "ListMetrics", jsonVersion: "1.0", queryCompatible: true),
        Fixture(name: "cloudwatch", protocol: .rpcV2CBOR, service: "cloudwatch", signingName: "monitoring", operation: "ListMetrics"),
        Fixture(name: "cloudwatch-query-compatible", protocol: .rpcV2CBOR, service: "cloudwatch", signingName: "monitoring",
                operation: "ListMetrics", queryCompatible: true),
    ]

    static let fixtureMessages = [
        "User: arn:aws:sts::123456789012:assumed-role/agent/session is not authorized to perform this action because no identity-based policy allows it",
        "Rein denied <Operation> on \"bucket&key\" for 'agent' > policy & more &amp;",
        "Zugriff verweigert — 拒绝访问 — 😀 é\u{301}\r\n\ttab ]]> \\ \u{7F}",
    ]

    /// Writes one fixture per service and message, plus CBOR vectors, into
    /// $REIN_ERROR_FIXTURES (for the interop test) or a temporary directory
    /// that is removed afterwards.
    @Test func writesInteropFixtures() throws {
        let env = ProcessInfo.processInfo.environment["REIN_ERROR_FIXTURES"]
        let dir = env.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("rein-error-fixtures-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if env == nil { try? FileManager.default.removeItem(at: dir) } }

        var written = 0
        for f in Self.fixtures {
            for (n, message) in Self.fixtureMessages.enumerated() {
                let requestId = "rein-\(f.name)-\(n)"
                let r = AWSErrorResponse.accessDenied(
                    protocol: f.protocol, signingName: f.signingName, message: message, requestId: requestId,
                    jsonVersion: f.jsonVersion, service: f.service, xmlNamespace: f.xmlNamespace, queryCompatible: f.queryCompatible)
                let doc = JSONValue.object(JSONObject([
                    (key: "protocol", value: .string(f.protocol.rawValue)),
                    (key: "service", value: .string(f.service)),
                    (key: "operation", value: .string(f.operation)),
                    (key: "status", value: .number(String(r.status))),
                    (key: "headers", value: .array(r.headers.map { .array([.string($0.0), .string($0.1)]) })),
                    (key: "body_base64", value: .string(Data(r.body).base64EncodedString())),
                    (key: "message", value: .string(message)),
                    (key: "request_id", value: .string(requestId)),
                    (key: "query_compatible", value: .bool(f.queryCompatible)),
                ]))
                let bytes = StrictJSON.encode(doc)
                let url = dir.appendingPathComponent("error-\(f.name)-\(n).json")
                try Data(bytes).write(to: url)
                let back = try StrictJSON.parse(Array(try Data(contentsOf: url)))
                #expect(back == doc)
                written += 1
            }
        }
        #expect(written == Self.fixtures.count * Self.fixtureMessages.count)

        // CBOR that Rein encodes, for botocore's decoder to read back.
        let vectors: [JSONValue] = [
            .object(JSONObject([(key: "__type", value: .string("AccessDeniedException")), (key: "message", value: .string(Self.hostile))])),
            .array([.number("0"), .number("23"), .number("24"), .number("65536"), .number("18446744073709551615"),
                    .number("-1"), .number("-18446744073709551616"), .number("1.5"), .number("-4.1"), .number("1e+300"),
                    .bool(true), .bool(false), .null, .string(""), .string(String(repeating: "x", count: 300))]),
            .object(JSONObject((0..<30).map { (key: "k\($0)", value: .array([.number(String($0))])) })),
        ]
        let list = JSONValue.array(vectors.map { v in
            .object(JSONObject([
                (key: "json", value: .string(String(decoding: StrictJSON.encode(v), as: UTF8.self))),
                (key: "cbor_base64", value: .string(Data(CBOR.encode(v)).base64EncodedString())),
            ]))
        })
        try Data(StrictJSON.encode(list)).write(to: dir.appendingPathComponent("cbor-vectors.json"))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }
        #expect(files.count >= written + 1)
    }
}

/// The text of every leaf element, by local name, from a small XML document,
/// read with Foundation's parser: an independent check of the escaping.
final class XMLFields: NSObject, XMLParserDelegate {
    private var fields: [String: String] = [:]
    private var text = ""

    static func parse(_ bytes: [UInt8]) throws -> [String: String] {
        let delegate = XMLFields()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = delegate
        guard parser.parse() else {
            throw XMLFieldsError(detail: parser.parserError.map { "\($0)" } ?? "unknown XML error")
        }
        return delegate.fields
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if fields[elementName] == nil { fields[elementName] = text }
        text = ""
    }
}

struct XMLFieldsError: Error, CustomStringConvertible {
    let detail: String
    var description: String { "XML did not parse: \(detail)" }
}
