import Foundation

/// An IPv4 or IPv6 network, for the client allowlist.
///
/// Why by hand: it is twenty lines over `inet_pton`, and the only question
/// asked of it is "is this peer inside", once per connection.
public struct CIDRBlock: Sendable, Equatable, CustomStringConvertible {
    public let network: [UInt8]
    public let prefixLength: Int
    public let text: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = Self.parse(parts[0]) else { return nil }
        let bits = address.count * 8
        let length: Int
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...bits).contains(n) else { return nil }
            length = n
        } else {
            length = bits
        }
        network = address
        prefixLength = length
        self.text = text
    }

    public var description: String { text }

    /// True when `address` (textual IPv4 or IPv6) lies inside this block.
    /// IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) match IPv4 blocks.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.parse(address) else { return false }
        if bytes.count == 16, network.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == network.count else { return false }
        var remaining = prefixLength
        for i in 0..<bytes.count where remaining > 0 {
            let take = min(8, remaining)
            let mask: UInt8 = take == 8 ? 0xff : ~(0xff >> UInt8(take))
            if bytes[i] & mask != network[i] & mask { return false }
            remaining -= take
        }
        return true
    }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
