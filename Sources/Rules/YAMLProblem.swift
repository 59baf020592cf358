import Yams

/// Where a YAML file stops being YAML, for `file:line:column: not valid YAML: …` (the form
/// editors jump to): the position libyaml reports, and its problem in one line.
public enum YAMLProblem {
    public static func locate(_ error: any Error) -> (line: Int, column: Int, message: String) {
        guard let yaml = error as? YamlError else { return (1, 1, "\(error)") }
        func near(_ context: YamlError.Context?) -> String {
            context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
        }
        switch yaml {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return (max(1, mark.line), max(1, mark.column), problem + near(context))
        case .reader(let problem, let offset, _, let text):
            guard let offset else { return (1, 1, problem) }
            let before = text.utf8.prefix(offset)
            let line = before.filter { $0 == 0x0A }.count + 1
            let column = before.reversed().prefix { $0 != 0x0A }.count + 1
            return (line, column, problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return (max(1, context.mark.line), max(1, context.mark.column),
                    "duplicate key\(duplicates.count == 1 ? "" : "s") " + duplicates.sorted().map { "'\($0)'" }.joined(separator: ", "))
        default:
            return (1, 1, "\(yaml)")
        }
    }
}
