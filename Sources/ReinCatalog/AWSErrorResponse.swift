/// An error answer shaped exactly as the AWS service itself would send it, so
/// that every SDK raises the exception its users already handle (boto3's
/// `ClientError` with `Error.Code == "AccessDenied"`, and so on) instead of a
/// parse failure or a generic HTTP error.
///
/// Each protocol's error reader in the SDKs looks in a different place for
/// the code and message; the shapes below are the ones botocore's parsers
/// (`botocore/parsers.py`) and the Smithy protocol specifications read:
///
/// | Protocol   | Code is read from                          | Body                                   |
/// |------------|--------------------------------------------|----------------------------------------|
/// | rest-xml   | `Error/Code` (S3: root `<Error>`; others: `<ErrorResponse><Error>`) | XML |
/// | query      | `ErrorResponse/Error/Code`                 | XML, `text/xml`                        |
/// | ec2        | `Response/Errors/Error/Code`               | XML                                    |
/// | json       | body `__type`, text after `#`              | `{"__type","message"}`                 |
/// | rest-json  | `x-amzn-ErrorType` header, before `:`      | `{"__type","message"}`                 |
/// | rpc-v2-cbor| body `__type`, text after `#`              | CBOR map `{"__type","message"}`        |
///
/// The query-compatibility header `x-amzn-query-error` (json and rpc-v2-cbor
/// services that used to speak query, such as SQS and CloudWatch) makes
/// botocore report the code it names instead of `__type`.
public struct AWSErrorResponse: Sendable, Equatable {
    public let status: Int
    /// Header fields in the order they should be sent. Always includes
    /// `Content-Type` and `Content-Length`.
    public let headers: [(String, String)]
    public let body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of the header `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.0.lowercased() == wanted }?.1
    }

    /// Equal when status, body and every header (name and value, in order) match.
    public static func == (lhs: AWSErrorResponse, rhs: AWSErrorResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body
            && lhs.headers.count == rhs.headers.count
            && zip(lhs.headers, rhs.headers).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// Builds the error `code` for `protocol`.
    ///
    /// - Parameters:
    ///   - code: the error code. For json and rpc-v2-cbor it is sent verbatim
    ///     as `__type`, so it may carry a namespace
    ///     (`com.amazon.coral.service#AccessDeniedException`); headers and XML
    ///     always carry the bare code.
    ///   - jsonVersion: `"1.0"` or `"1.1"` for the json protocol's content
    ///     type (the catalog's `jsonVersion`); nil means 1.0.
    ///   - s3Resource: S3's `<Resource>` element, when there is one.
    ///   - xmlNamespace: the `xmlns` of a query or wrapped rest-xml
    ///     `<ErrorResponse>` (the model's `xmlNamespace`); SDKs match elements
    ///     by local name, so omitting it is safe.
    ///   - wrapsRestXMLError: rest-xml only. S3 sends a bare `<Error>` root;
    ///     S3 Control, Route 53 and CloudFront wrap it in `<ErrorResponse>`,
    ///     and the Go SDK for S3 Control reads only the wrapped form.
    ///   - queryErrorCode: for json and rpc-v2-cbor services that are query
    ///     compatible, the legacy query code sent as
    ///     `x-amzn-query-error: <code>;Sender`.
    public static func make(
        protocol: AWSProtocol, code: String, message: String, requestId: String, status: Int,
        jsonVersion: String? = nil, s3Resource: String? = nil, xmlNamespace: String? = nil,
        wrapsRestXMLError: Bool = false, queryErrorCode: String? = nil
    ) -> AWSErrorResponse {
        let bare = bareCode(code)
        var headers: [(String, String)] = []
        let body: [UInt8]
        switch `protocol` {
        case .restXML where !wrapsRestXMLError:
            var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n<Error>"
            xml += element("Code", bare) + element("Message", message)
            if let s3Resource { xml += element("Resource", s3Resource) }
            xml += element("RequestId", requestId) + "</Error>"
            body = Array(xml.utf8)
            headers = [("Content-Type", "application/xml"), ("x-amz-request-id", requestId)]
        case .restXML:
            var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
            xml += errorResponse(code: bare, message: message, requestId: requestId, xmlNamespace: xmlNamespace)
            body = Array(xml.utf8)
            headers = [("Content-Type", "application/xml"), ("x-amz-request-id", requestId)]
        case .query:
            let xml = errorResponse(code: bare, message: message, requestId: requestId, xmlNamespace: xmlNamespace)
            body = Array(xml.utf8)
            headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", requestId)]
        case .ec2:
            var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
            xml += "<Response><Errors><Error>" + element("Code", bare) + element("Message", message)
            xml += "</Error></Errors>" + element("RequestID", requestId) + "</Response>"
            body = Array(xml.utf8)
            headers = [("Content-Type", "text/xml;charset=UTF-8"), ("x-amzn-RequestId", requestId)]
        case .json:
            body = StrictJSON.encode(errorObject(code: code, message: message))
            headers = [
                ("Content-Type", "application/x-amz-json-\(jsonVersion ?? "1.0")"),
                ("x-amzn-RequestId", requestId),
                ("x-amzn-ErrorType", errorTypeHeader(code)),
            ]
        case .restJSON:
            body = StrictJSON.encode(errorObject(code: code, message: message))
            headers = [
                ("Content-Type", "application/json"),
                ("x-amzn-RequestId", requestId),
                ("x-amzn-ErrorType", errorTypeHeader(code)),
            ]
        case .rpcV2CBOR:
            body = CBOR.encode(errorObject(code: code, message: message))
            headers = [
                ("Content-Type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
                ("x-amzn-RequestId", requestId),
            ]
        }
        if let queryErrorCode, `protocol` == .json || `protocol` == .rpcV2CBOR {
            headers.append(("x-amzn-query-error", "\(queryErrorCode);Sender"))
        }
        headers.insert(("Content-Length", String(body.count)), at: 1)
        return AWSErrorResponse(status: status, headers: headers, body: body)
    }

    /// The answer AWS gives when IAM denies the caller, in `protocol`'s shape.
    ///
    /// | Protocol                   | Status | Code                                              |
    /// |----------------------------|--------|---------------------------------------------------|
    /// | rest-xml (S3, S3 Control)  | 403    | `AccessDenied`                                    |
    /// | query (STS, IAM, SNS, ...) | 403    | `AccessDenied`                                    |
    /// | ec2                        | 403    | `UnauthorizedOperation`                           |
    /// | json (DynamoDB, KMS, ...)  | 400    | `com.amazon.coral.service#AccessDeniedException`  |
    /// | rest-json (Lambda, ...)    | 403    | `AccessDeniedException`                           |
    /// | rpc-v2-cbor (CloudWatch)   | 403    | `com.amazon.coral.service#AccessDeniedException`  |
    ///
    /// json services answer 400, not 403: AWS JSON 1.0/1.1 client errors
    /// default to 400 and the authorization layer in front of DynamoDB, KMS
    /// and the rest sends `com.amazon.coral.service#AccessDeniedException`
    /// with 400. The code every SDK reports is the part after `#`.
    ///
    /// - Parameters:
    ///   - signingName: the SigV4 service name. For rest-xml, `s3` selects S3's
    ///     bare `<Error>` document unless `service` says otherwise.
    ///   - service: the catalog's service name (botocore's), when known.
    ///     S3 Control signs as `s3` too, so pass `s3control` to get its
    ///     wrapped `<ErrorResponse>` document.
    ///   - queryCompatible: the service is json or rpc-v2-cbor but keeps its
    ///     query-era codes (`awsQueryCompatible`, e.g. SQS, CloudWatch);
    ///     adds `x-amzn-query-error: AccessDenied;Sender`, so botocore then
    ///     reports `AccessDenied`.
    public static func accessDenied(
        protocol: AWSProtocol, signingName: String, message: String, requestId: String,
        jsonVersion: String? = nil, service: String? = nil, xmlNamespace: String? = nil,
        queryCompatible: Bool = false
    ) -> AWSErrorResponse {
        let (code, status): (String, Int)
        switch `protocol` {
        case .restXML, .query: (code, status) = ("AccessDenied", 403)
        case .ec2: (code, status) = ("UnauthorizedOperation", 403)
        case .json: (code, status) = ("com.amazon.coral.service#AccessDeniedException", 400)
        case .restJSON: (code, status) = ("AccessDeniedException", 403)
        case .rpcV2CBOR: (code, status) = ("com.amazon.coral.service#AccessDeniedException", 403)
        }
        let isS3 = (service ?? signingName) == "s3"
        return make(
            protocol: `protocol`, code: code, message: message, requestId: requestId, status: status,
            jsonVersion: jsonVersion, xmlNamespace: xmlNamespace, wrapsRestXMLError: !isS3,
            queryErrorCode: queryCompatible ? "AccessDenied" : nil
        )
    }

    // MARK: - Pieces

    /// The code without a `namespace#` prefix or `:detail` suffix.
    public static func bareCode(_ code: String) -> String {
        var s = Substring(code)
        if let colon = s.firstIndex(of: ":") { s = s[..<colon] }
        if let hash = s.lastIndex(of: "#") { s = s[s.index(after: hash)...] }
        return String(s)
    }

    /// `x-amzn-ErrorType` as AWS sends it: the bare code, then a colon and
    /// the coral namespace URL when the code carries a namespace. Every SDK
    /// keeps only the part before the colon.
    static func errorTypeHeader(_ code: String) -> String {
        let bare = bareCode(code)
        guard let hash = code.lastIndex(of: "#"), !code[..<hash].isEmpty else { return bare }
        return "\(bare):http://internal.amazon.com/coral/\(code[..<hash])/"
    }

    static func errorObject(code: String, message: String) -> JSONValue {
        .object(JSONObject([(key: "__type", value: .string(code)), (key: "message", value: .string(message))]))
    }

    static func errorResponse(code: String, message: String, requestId: String, xmlNamespace: String?) -> String {
        var xml = "<ErrorResponse"
        if let xmlNamespace { xml += " xmlns=\"\(xmlEscape(xmlNamespace))\"" }
        xml += "><Error><Type>Sender</Type>" + element("Code", code) + element("Message", message)
        xml += "</Error>" + element("RequestId", requestId) + "</ErrorResponse>"
        return xml
    }

    static func element(_ name: String, _ text: String) -> String {
        "<\(name)>\(xmlEscape(text))</\(name)>"
    }

    /// Escapes text for XML 1.0 content or attribute values.
    ///
    /// The five markup characters become entities, and `\r` becomes `&#13;`
    /// so that parsers do not normalize it to `\n`. Characters XML 1.0 cannot
    /// carry at all, even as references (C0 controls other than tab and line
    /// feed, U+FFFE, U+FFFF), become U+FFFD: a message containing them would
    /// otherwise make the whole document unparseable, and botocore would
    /// raise a parse error instead of the access-denied error.
    static func xmlEscape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            case "\u{0}"..."\u{1F}", "\u{FFFE}", "\u{FFFF}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
