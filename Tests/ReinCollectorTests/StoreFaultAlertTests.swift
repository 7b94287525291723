import Foundation
import Testing
@testable import ReinCollector

/// The alerts a store fault and a full disk post (``StoreFaultWatch``).
@Suite struct StoreFaultAlertTests {
    @Test func theAlertSaysWhatHappenedAndWhatToDo() throws {
        let bytes = StoreFaultWatch.payload(fault: "could not sync the WAL of /data/collector.sqlite: Input/output error",
                                            consoleURL: "https://rein.internal/")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let text = try #require(body["text"] as? String)
        #expect(text.contains("refuses every write until it is restarted"))
        #expect(text.contains("Check the disk, then restart the collector"))
        #expect(text.contains("Input/output error"))
        let rein = try #require(body["rein"] as? [String: Any])
        #expect(rein["alert"] as? String == "store-sync-failed")
        #expect((rein["links"] as? [String: String])?["health"] == "https://rein.internal/healthz")
    }

    @Test func theFullDiskAlertSaysWhereAndThatNoRestartIsNeeded() throws {
        let bytes = StoreFaultWatch.payload(diskFullAt: "/data/collector.sqlite", freeBytes: 4096, consoleURL: nil)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let text = try #require(body["text"] as? String)
        #expect(text.contains("(/data/collector.sqlite) is full"))
        #expect(text.contains("Free space or grow the volume") && text.contains("no restart needed"))
        let rein = try #require(body["rein"] as? [String: Any])
        #expect(rein["alert"] as? String == "store-disk-full")
        #expect(rein["disk_free_bytes"] as? Int == 4096)
        #expect((rein["links"] as? [String: String])?.isEmpty == true)
    }
}
