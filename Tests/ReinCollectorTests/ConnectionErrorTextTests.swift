import NIOCore
import NIOHTTP1
import Testing
@testable import ReinCollector

/// A connection error is logged without the raw request bytes NIO's
/// decoder errors carry (an over-long head holds `Authorization: Bearer …`).
@Suite struct ConnectionErrorTextTests {
    @Test func decoderErrorsLoseTheirBytes() {
        let head = ByteBuffer(string: "Authorization: Bearer tok-admin-0123456789abcdef\r\n")
        let errors: [any Error] = [
            ByteToMessageDecoderError.dataReceivedInErrorState(HTTPParserError.headerOverflow, head),
            ByteToMessageDecoderError.leftoverDataWhenDone(head),
        ]
        for error in errors {
            let text = CollectorHTTPHandler.describe(error)
            #expect(!text.contains("tok-admin") && !text.contains("746f6b2d61646d696e") && text.contains("bytes"), "\(text)")
        }
        #expect(CollectorHTTPHandler.describe(HTTPParserError.headerOverflow) == "\(HTTPParserError.headerOverflow)")
    }
}
