import Foundation

/// Why a CPU latency request could not be made: which device, which step,
/// and the system's reason, with what usually fixes it.
public struct CPULatencyHoldError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        case open, write
    }

    public let path: String
    public let operation: Operation
    public let errno: Int32

    public init(path: String, operation: Operation, errno: Int32) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        var text = "cannot \(operation.rawValue) \(path) for a CPU latency request: \(String(cString: strerror(errno)))"
        switch errno {
        case EACCES, EPERM:
            text += " (it takes root, or the device made writable for the sidecar's user)"
        case ENOENT, ENODEV, ENXIO:
            text += " (the kernel has no CPU latency QoS device here; in a container, mount \(CPULatencyHold.devicePath) into it)"
        default:
            break
        }
        return text
    }
}
