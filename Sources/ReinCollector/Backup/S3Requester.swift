import Foundation
import ReinBroker
import ReinCrypto
import ReinSigV4
import ReinUpstream

/// Signs (SigV4, over the body's SHA-256) and sends one S3 request over
/// libcurl, and turns any answer but a 2xx into a ``BackupCopyError`` with
/// S3's code, message and request id. Shared by ``S3Uploader`` and
/// ``S3Downloader``.
struct S3Requester: Sendable {
    let destination: BackupCopyDestination
    let http: HTTPClient
    let credentials: @Sendable () throws(BackupCopyError) -> AWSCredentials
    /// Per request; a part of 16 MiB at 1 MB/s still fits.
    var timeout: Double = 600
    /// Asked before each request: a shutdown stops a copy within one part, not one file.
    var shouldStop: @Sendable () -> Bool = { false }

    /// Signs and sends one request; any answer but 2xx, or a
    /// CompleteMultipartUpload 200 whose body is an `<Error>`, is thrown.
    func send(_ method: String, key: String, query: String?, headers: [(String, String)], body: [UInt8],
              digest: Digest, operation: String) throws(BackupCopyError) -> HTTPClientResponse {
        if shouldStop(), operation != "AbortMultipartUpload" { throw .stopped }
        let address = destination.address(of: key, query: query)
        var request = SignableRequest(method: method, path: address.path, query: query,
                                      headers: [HTTPHeader("Host", address.host), HTTPHeader("x-amz-content-sha256", digest.hex)]
                                          + headers.map { HTTPHeader($0.0, $0.1) })
        let signingCredentials = try credentials()
        SigV4Signer().sign(&request, credentials: signingCredentials, region: destination.region, service: "s3",
                           time: Int64(Date().timeIntervalSince1970.rounded(.down)), payloadHash: digest.hex, normalizePath: false)
        let response: HTTPClientResponse
        do {
            response = try http.send(HTTPClientRequest(method: method, url: address.url, headers: request.headers.map { ($0.name, $0.value) },
                                                       body: body, timeout: timeout))
        } catch {
            throw .transport(key: key, message: error.message)
        }
        let succeeded = (200..<300).contains(response.status)
        // A 2xx body is data (an object's bytes may hold any text, "<Error>" too), except where S3 documents
        // a 200 that failed: CompleteMultipartUpload.
        if succeeded, operation != "CompleteMultipartUpload" { return response }
        let text = response.bodyText[...]
        let error = MiniXML.element("Error", in: text)
        if succeeded, error == nil { return response }
        let code = error.flatMap { MiniXML.element("Code", in: $0) }.map(MiniXML.unescape) ?? "HTTP \(response.status)"
        let message = error.flatMap { MiniXML.element("Message", in: $0) }.map { EchoText.withoutLongTokens(MiniXML.unescape($0)) } ?? "no error document"
        throw .refused(key: key, operation: operation, status: response.status, code: code, message: message,
                       requestId: response.header("x-amz-request-id"))
    }
}
