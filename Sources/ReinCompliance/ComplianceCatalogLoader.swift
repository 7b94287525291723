import Foundation
import Yams

/// Why a catalog file was refused: the file, where in it, and what is wrong.
public struct ComplianceCatalogError: Error, Sendable, CustomStringConvertible, Equatable {
    public let file: String
    public let location: String
    public let message: String

    public var description: String { "\(file): \(location): \(message)" }
}

/// Reads `Compliance/*.yaml` strictly: unknown keys, unknown signals or
/// findings, duplicate ids and inconsistent assessments are errors, because
/// a silently ignored typo in a catalog would change what a report claims.
public enum ComplianceCatalogLoader {
    static let frameworkKeys: Set<String> = ["id", "name", "short", "version", "publisher", "url"]
    static let controlKeys: Set<String> = ["id", "group", "category", "title", "description", "assessment", "attestation",
                                           "rationale", "evidence", "gap_findings"]
    static let ruleKeys: Set<String> = ["signal", "strength", "required", "why"]

    /// The order reports present frameworks in: NIST AI RMF first (the one
    /// most compliance teams answer to), then OWASP Agentic and NHI, then
    /// MAESTRO; any other catalog after them, by id.
    static let presentationOrder = ["nist-ai-rmf-1.0", "owasp-agentic-top10-2026", "owasp-nhi-top10-2025", "csa-maestro"]

    static func rank(_ id: String) -> Int { presentationOrder.firstIndex(of: id) ?? presentationOrder.count }

    /// Every `*.yaml` in `directory`, in ``presentationOrder``.
    public static func loadAll(directory: String) throws(ComplianceCatalogError) -> [ComplianceCatalog] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
        } catch {
            throw ComplianceCatalogError(file: directory, location: "-", message: "cannot list the directory: \(error.localizedDescription)")
        }
        var catalogs: [ComplianceCatalog] = []
        for name in names {
            catalogs.append(try load(path: directory + "/" + name))
        }
        guard !catalogs.isEmpty else { throw ComplianceCatalogError(file: directory, location: "-", message: "no framework catalogs (*.yaml)") }
        return catalogs.sorted { (rank($0.framework.id), $0.framework.id) < (rank($1.framework.id), $1.framework.id) }
    }

    public static func load(path: String) throws(ComplianceCatalogError) -> ComplianceCatalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ComplianceCatalogError(file: path, location: "-", message: "cannot read the file")
        }
        let catalog = try parse(String(decoding: data, as: UTF8.self), file: (path as NSString).lastPathComponent)
        let expected = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        guard catalog.framework.id == expected else {
            throw ComplianceCatalogError(file: path, location: "framework.id", message: "is \(catalog.framework.id), but the file is named \(expected).yaml")
        }
        return catalog
    }

    public static func parse(_ text: String, file: String) throws(ComplianceCatalogError) -> ComplianceCatalog {
        func fail(_ location: String, _ message: String) -> ComplianceCatalogError {
            ComplianceCatalogError(file: file, location: location, message: message)
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw fail("-", "the file is empty") }
            root = node
        } catch let e as ComplianceCatalogError {
            throw e
        } catch {
            throw fail("-", "not valid YAML: \(error)")
        }
        guard let top = root.mapping else { throw fail("-", "the top level must be a mapping with framework and controls") }
        try checkKeys(top, allowed: ["framework", "controls"], at: "(top)", fail)
        guard let fw = top["framework"]?.mapping else { throw fail("framework", "is required and must be a mapping") }
        try checkKeys(fw, allowed: frameworkKeys, at: "framework", fail)
        func fwString(_ key: String) throws(ComplianceCatalogError) -> String {
            guard let s = fw[key]?.string, !s.isEmpty else { throw fail("framework.\(key)", "is required") }
            return s
        }
        let framework = ComplianceCatalog.Framework(id: try fwString("id"), name: try fwString("name"), short: try fwString("short"),
                                                    version: try fwString("version"), publisher: try fwString("publisher"),
                                                    url: try fwString("url"))
        guard let list = top["controls"]?.sequence, !list.isEmpty else { throw fail("controls", "is required and must be a non-empty list") }
        var controls: [ComplianceCatalog.Control] = []
        var seen: Set<String> = []
        for (index, item) in list.enumerated() {
            guard let m = item.mapping else { throw fail("controls[\(index)]", "must be a mapping") }
            let where_ = "controls[\(index)] (\(m["id"]?.string ?? "no id"))"
            try checkKeys(m, allowed: controlKeys, at: where_, fail)
            func string(_ key: String) throws(ComplianceCatalogError) -> String {
                guard let s = m[key]?.string?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty else {
                    throw fail("\(where_).\(key)", "is required")
                }
                return s
            }
            let id = try string("id")
            guard seen.insert(id).inserted else { throw fail(where_, "the id \(id) appears twice") }
            guard let assessment = ComplianceCatalog.Assessment(rawValue: try string("assessment")) else {
                throw fail("\(where_).assessment", "must be evidence, attestation or not-applicable")
            }
            var rules: [ComplianceCatalog.EvidenceRule] = []
            for (r, ruleNode) in (m["evidence"]?.sequence ?? []).enumerated() {
                let at = "\(where_).evidence[\(r)]"
                guard let rm = ruleNode.mapping else { throw fail(at, "must be a mapping") }
                try checkKeys(rm, allowed: ruleKeys, at: at, fail)
                guard let signal = rm["signal"]?.string.flatMap(ComplianceSignal.init(rawValue:)) else {
                    throw fail("\(at).signal", "must be one of \(ComplianceSignal.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard let strength = rm["strength"]?.string.flatMap(ComplianceCatalog.EvidenceRule.Strength.init(rawValue:)) else {
                    throw fail("\(at).strength", "must be strong or partial")
                }
                var required = false
                if let flag = rm["required"] {
                    guard let b = flag.bool else { throw fail("\(at).required", "must be true or false") }
                    required = b
                }
                guard let why = rm["why"]?.string, !why.isEmpty else { throw fail("\(at).why", "is required") }
                rules.append(.init(signal: signal, strength: strength, required: required, why: why))
            }
            var gaps: [ComplianceFindingKind] = []
            if let g = m["gap_findings"] {
                guard let items = g.sequence else { throw fail("\(where_).gap_findings", "must be a list") }
                for f in items {
                    guard let kind = f.string.flatMap(ComplianceFindingKind.init(rawValue:)) else {
                        throw fail("\(where_).gap_findings", "'\(f.string ?? "?")' is not one of \(ComplianceFindingKind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    gaps.append(kind)
                }
            }
            let control = ComplianceCatalog.Control(
                id: id, group: try string("group"), category: try string("category"), title: try string("title"),
                description: try string("description"), assessment: assessment,
                attestation: m["attestation"]?.string, rationale: m["rationale"]?.string, evidence: rules, gapFindings: gaps)
            switch assessment {
            case .evidence:
                guard !rules.isEmpty else { throw fail(where_, "an evidence control needs evidence rules") }
            case .attestation:
                guard rules.isEmpty, gaps.isEmpty else { throw fail(where_, "an attestation control has no evidence rules or gap findings") }
                guard control.attestation?.isEmpty == false else { throw fail(where_, "an attestation control says what must be attested (attestation)") }
            case .notApplicable:
                guard rules.isEmpty, gaps.isEmpty else { throw fail(where_, "a not-applicable control has no evidence rules or gap findings") }
                guard control.rationale?.isEmpty == false else { throw fail(where_, "a not-applicable control says why (rationale)") }
            }
            controls.append(control)
        }
        return ComplianceCatalog(framework: framework, controls: controls)
    }

    private static func checkKeys(_ map: Node.Mapping, allowed: Set<String>, at location: String,
                                  _ fail: (String, String) -> ComplianceCatalogError) throws(ComplianceCatalogError) {
        for key in map.keys {
            let name = key.string ?? "?"
            guard allowed.contains(name) else {
                throw fail("\(location).\(name)", "unknown key (known: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }
}
