import Foundation
import ReinAudit

/// Reading the collector's integrity findings.
extension CollectorClient {
    /// How many findings one request asks for.
    static let findingsPage = 1000

    /// Calls `each` with every stored finding matching `query` (`sidecar`,
    /// `since`), oldest first, page by page.
    ///
    /// Why every page: a sidecar flooding findings early must not push a
    /// later one, another sidecar's, out of an investigator's view. Pages
    /// follow the finding `id` (`after=`), which only grows; the first
    /// request carries no `after`, as collectors before it knew none.
    public func forEachFinding(_ query: [(String, String)], _ each: (IntegrityFinding) throws -> Void) throws {
        var after: Int64 = 0
        while true {
            var q = query + [("limit", String(Self.findingsPage))]
            if after > 0 { q.append(("after", String(after))) }
            let body = try exchange("GET", "/v1/audit/findings", query: q, timeout: 120).body
            let page: [StoredFinding]
            do { page = try JSONDecoder().decode([StoredFinding].self, from: Data(body)) } catch {
                throw CollectorClientError(kind: .protocolError, message: "GET /v1/audit/findings: the answer is not a list of findings: \(error)")
            }
            for stored in page { try each(stored.finding) }
            guard page.count == Self.findingsPage, let last = page.last?.id, last > after else { return }
            after = last
        }
    }

    /// One finding as the API answers it: the finding and its `id`.
    struct StoredFinding: Decodable {
        let id: Int64
        let finding: IntegrityFinding

        init(from decoder: any Decoder) throws {
            id = try decoder.container(keyedBy: IdKey.self).decode(Int64.self, forKey: .id)
            finding = try IntegrityFinding(from: decoder)
        }

        enum IdKey: String, CodingKey { case id }
    }
}
