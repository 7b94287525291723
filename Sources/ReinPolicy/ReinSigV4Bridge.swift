import ReinSigV4

/// Time formatting shared with the SigV4 module, for messages.
enum ReinSigV4Bridge {
    /// `2026-12-01T00:00:00Z`.
    static func format(_ t: Int64) -> String {
        let basic = AmzDate.format(t) // yyyyMMddTHHmmssZ
        let u = Array(basic)
        guard u.count == 16 else { return basic }
        return "\(String(u[0..<4]))-\(String(u[4..<6]))-\(String(u[6..<8]))T\(String(u[9..<11])):\(String(u[11..<13])):\(String(u[13..<15]))Z"
    }
}
