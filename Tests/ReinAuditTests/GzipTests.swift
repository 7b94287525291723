import Testing
@testable import ReinAudit

@Suite struct GzipTests {
    @Test func roundTripsAndRefusesBombsAndGarbage() throws {
        let text = Array(String(repeating: "{\"decision\":\"allow\"}\n", count: 5000).utf8)
        let packed = try Gzip.compress(text)
        #expect(packed.count < text.count / 10)
        #expect(packed.prefix(2) == [0x1f, 0x8b])
        #expect(try Gzip.decompress(packed, limit: 1 << 20) == text)
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(packed, limit: 1000) }
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(Array("not gzip".utf8), limit: 1000) }
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(Array(packed.dropLast(20)), limit: 1 << 20) }
        // Concatenated members decode as one stream.
        let two = try Gzip.compress(Array("a\n".utf8)) + Gzip.compress(Array("b\n".utf8))
        #expect(try Gzip.decompress(two, limit: 100) == Array("a\nb\n".utf8))
        #expect(try Gzip.decompress(try Gzip.compress([]), limit: 10) == [])
    }
}
