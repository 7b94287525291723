/// Why a fetched policy was not applied (it failed validation, named another agent…).
public struct PolicyApplyRefusal: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}
