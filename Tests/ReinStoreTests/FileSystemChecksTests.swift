import Foundation
import Testing
@testable import ReinStore

/// What the stores ask of the file system under them: room left
/// (``FileSystemSpace``) and whether it is a network one (``NetworkFileSystem``).
/// A real network file system (FUSE, through `rclone mount`) is in the
/// interop test `test_network_state_dir.py`.
struct FileSystemChecksTests {
    @Test func aPathNotMadeYetIsAskedAboutWhereItWillBe() throws {
        try withScratchDirectory("rein-fs") { dir in
            let future = dir + "/state/not/yet/collector.sqlite"
            #expect(FileSystemSpace.existing(future) == dir)
            #expect(FileSystemSpace.existing(dir) == dir)
            let free = try #require(FileSystemSpace.available(under: future))
            #expect(free > 0)
            // The same file system as the scratch directory's own answer.
            let here = try #require(FileSystemSpace.available(under: dir))
            #expect(abs(free - here) < 64 << 20)
        }
    }

    @Test func aLocalDiskIsNotWarnedOf() throws {
        try withScratchDirectory("rein-fs") { dir in
            #expect(NetworkFileSystem.name(under: dir + "/spool.db") == nil)
            #expect(NetworkFileSystem.warning(for: dir + "/spool.db", role: "the audit spool") == nil)
        }
    }

    @Test func theNetworkFileSystemsAreNamed() {
        #expect(NetworkFileSystem.names[0x6969] == "nfs")        // NFS, and EFS
        #expect(NetworkFileSystem.names[0x6573_5546] == "fuse")  // s3fs, sshfs, rclone mount
        #expect(NetworkFileSystem.names[0xFF53_4D42] == "cifs")
        #expect(NetworkFileSystem.names[0xEF53] == nil)           // ext4
        #expect(NetworkFileSystem.names[0x0102_1994] == nil)      // tmpfs
    }
}
