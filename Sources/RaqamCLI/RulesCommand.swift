import ArgumentParser
import Foundation
import Rules

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Work with rule files.",
        subcommands: [RulesCheckCommand.self]
    )
}

struct RulesCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check rule files: YAML, keys, expressions against the scope's metrics, templates, duplicate names.",
        discussion: "Each PATH is a file or a folder of *.yaml / *.yml files. Prints every problem as file:line:column: message; exits 0 when all are valid, 1 otherwise."
    )

    @Argument(help: ArgumentHelp("Rule files or folders.", valueName: "path")) var paths: [String]

    func run() throws {
        var files: [(path: String, text: String)] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                printError("raqamctl: \(path): no such file or folder")
                throw Exit.ioError
            }
            let names = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { path + "/" + $0 }
                : [path]
            for name in names {
                guard let text = try? String(contentsOfFile: name, encoding: .utf8) else {
                    printError("raqamctl: cannot read \(name) as UTF-8 text")
                    throw Exit.ioError
                }
                files.append((name, text))
            }
        }
        switch RuleSet.load(files: files) {
        case .success(let set):
            print("ok: \(plural(set.rules.count, "rule")) in \(plural(files.count, "file"))")
        case .failure(let problems):
            for e in problems.errors { print(e.description) }
            print("\(plural(problems.errors.count, "problem")) in \(plural(files.count, "file"))")
            throw Exit.findings
        }
    }
}
