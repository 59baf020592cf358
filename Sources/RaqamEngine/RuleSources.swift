import Foundation
public import Rules

/// Where rule files come from: files, or folders of `*.yaml` / `*.yml`, read and compiled in
/// one place for raqamd (start-up, reload) and raqamctl (`lagging`, `rules check`).
public enum RuleSources {
    /// Why rule files could not be loaded.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// A path that does not exist or cannot be read as UTF-8 text.
        case unreadable(path: String, reason: String)
        /// The files were read; the rule set has these problems.
        case invalid(RuleErrors)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "\(path): \(reason)"
            case .invalid(let errors): errors.errors.map(\.description).joined(separator: "\n")
            }
        }

        /// Every problem as `file:line:column: message`.
        public var problems: [String] {
            switch self {
            case .unreadable(let path, let reason): ["\(path):1:1: \(reason)"]
            case .invalid(let errors): errors.errors.map(\.description)
            }
        }
    }

    /// The text of every rule file under `paths`, folders' files in name order.
    public static func read(_ paths: [String]) throws(Failure) -> [(path: String, text: String)] {
        var files: [(path: String, text: String)] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw .unreadable(path: path, reason: "no such file or folder")
            }
            let names = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { path + "/" + $0 }
                : [path]
            for name in names {
                guard let text = try? String(contentsOfFile: name, encoding: .utf8) else {
                    throw .unreadable(path: name, reason: "cannot read it as UTF-8 text")
                }
                files.append((name, text))
            }
        }
        return files
    }

    /// Reads and compiles the rule set under `paths`, checked whole.
    public static func load(_ paths: [String]) throws(Failure) -> RuleSet {
        switch RuleSet.load(files: try read(paths)) {
        case .success(let set): return set
        case .failure(let errors): throw .invalid(errors)
        }
    }
}
