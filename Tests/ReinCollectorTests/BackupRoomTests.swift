import Testing
@testable import ReinCollector

/// A backup that would not fit, or would leave the store's own disk under a
/// tenth free, is refused before anything is written (``BackupRoom``). The
/// real small disk is in the interop test `test_disk_faults.py`.
struct BackupRoomTests {
    @Test func aBackupOnItsOwnVolumeNeedsOnlyToFit() {
        #expect(BackupRoom.problem(needed: 900, free: 1000, fileSystemSize: nil) == nil)
        let refused = BackupRoom.problem(needed: 1001, free: 1000, fileSystemSize: nil)
        #expect(refused == "it needs about 1001 bytes and its disk has 1000 free; nothing was written")
    }

    @Test func aBackupBesideTheStoreLeavesATenthOfTheDiskFree() {
        // 10,000 bytes of disk: 1,000 must stay free after the copy.
        #expect(BackupRoom.problem(needed: 3000, free: 4000, fileSystemSize: 10_000) == nil)
        let refused = BackupRoom.problem(needed: 3001, free: 4000, fileSystemSize: 10_000)
        #expect(refused?.contains("has 4000 free of 10000: taking it would leave less than 10% free") == true)
        #expect(refused?.contains("give backup.dir a volume of its own") == true)
    }
}
