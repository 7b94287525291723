import Foundation

/// One framework's controls and the evidence rules that apply to them, as
/// reviewed data under `Compliance/` (one YAML file per framework).
public struct ComplianceCatalog: Codable, Sendable, Equatable {
    public struct Framework: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var short: String
        public var version: String
        public var publisher: String
        public var url: String
    }

    public enum Assessment: String, Codable, Sendable {
        case evidence
        case attestation
        case notApplicable = "not-applicable"
    }

    public struct EvidenceRule: Codable, Sendable, Equatable {
        public enum Strength: String, Codable, Sendable, Comparable {
            case partial, strong
            public static func < (a: Self, b: Self) -> Bool { a == .partial && b == .strong }
        }

        public var signal: ComplianceSignal
        public var strength: Strength
        /// Its absence makes the control a gap.
        public var required: Bool
        public var why: String
    }

    public struct Control: Codable, Sendable, Equatable {
        public var id: String
        public var group: String
        public var category: String
        public var title: String
        public var description: String
        public var assessment: Assessment
        public var attestation: String?
        public var rationale: String?
        public var evidence: [EvidenceRule]
        public var gapFindings: [ComplianceFindingKind]

        enum CodingKeys: String, CodingKey {
            case id, group, category, title, description, assessment, attestation, rationale, evidence
            case gapFindings = "gap_findings"
        }
    }

    public var framework: Framework
    public var controls: [Control]
}
