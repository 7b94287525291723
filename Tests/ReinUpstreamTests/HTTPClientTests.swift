import Foundation
import Testing
@testable import ReinUpstream

struct HTTPClientTests {
    @Test func refusesNonHTTPSchemes() {
        #expect(throws: HTTPClientError.self) { try HTTPClient().send(HTTPClientRequest(url: "file:///etc/passwd")) }
    }

    @Test func refusesHeaderInjection() {
        let request = HTTPClientRequest(url: "http://127.0.0.1:1/", headers: [("X-A", "b\r\nX-Evil: 1")])
        #expect(throws: HTTPClientError.self) { try HTTPClient().send(request) }
    }

    @Test func reportsConnectionRefusedAsTransportError() {
        do {
            _ = try HTTPClient().send(HTTPClientRequest(url: "http://127.0.0.1:1/", timeout: 2))
            Issue.record("expected a transport error")
        } catch {
            #expect(error.kind == .transport)
            #expect(error.curlCode == 7)
        }
    }
}
