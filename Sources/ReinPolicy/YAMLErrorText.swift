import Yams

/// A YAML syntax error in words, without the document's text.
///
/// Why: Yams describes an error by quoting the offending line, and in a
/// configuration or policy file that line may hold a secret (a pasted key,
/// a token). Where and what went wrong is enough to fix it.
public enum YAMLErrorText {
    public static func describe(_ error: any Error) -> String {
        guard let yaml = error as? YamlError else { return "the document cannot be read" }
        switch yaml {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)" + (context.map { " (\($0.text))" } ?? "")
        case .reader(let problem, let offset, _, _):
            return problem + (offset.map { " at byte \($0)" } ?? "")
        default:
            return "the document cannot be read"
        }
    }
}
