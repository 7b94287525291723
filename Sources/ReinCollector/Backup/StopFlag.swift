import Synchronization

/// A one-way flag a job's blocking work polls between steps, so that a
/// shutdown is not held up by a long copy (Swift's task cancellation does
/// not reach work running on a NIO thread pool).
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    func set() { flag.store(true, ordering: .relaxed) }

    var isSet: Bool { flag.load(ordering: .relaxed) }
}
