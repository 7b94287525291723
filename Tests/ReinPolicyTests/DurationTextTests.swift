import Testing
import ReinPolicy

/// Durations and sizes come from untrusted text (query parameters, pushed
/// policies): a huge number is refused, never an arithmetic overflow that
/// stops the process.
@Suite struct DurationTextTests {
    @Test(arguments: [("30s", 30), ("15m", 900), ("1h", 3600), ("400d", 400 * 86_400), ("36600d", 36_600 * 86_400)] as [(String, Int64)])
    func reads(text: String, seconds: Int64) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test(arguments: ["9999999999999999s", "999999999999999d", "9223372036854775807m", "36601d", "0s", "-1h", "1w", "", "h"])
    func refuses(text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test func sizesThatWouldOverflowAreRefused() {
        #expect(ByteSizeText.bytes("8MiB") == 8 << 20)
        #expect(ByteSizeText.bytes("9223372036854775807TiB") == nil)
        #expect(ByteSizeText.bytes("99999999999TB") == nil)
    }
}
