import ArgumentParser
import Foundation
import Rules

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check rule files and run their unit tests.",
        subcommands: [RulesCheckCommand.self, RulesTestCommand.self]
    )
}

struct RulesCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check rule files: YAML, keys, expressions against the scope's metrics, templates, duplicate names, lints.",
        discussion: """
            Each PATH is a file or a folder of *.yaml / *.yml files. Prints every problem as \
            file:line:column: message, and every lint (a rule that can never fire for its scope, \
            a templated label, a summary that does not name its entity) as \
            file:line:column: lint: message. Exits 0 when all is well, 1 otherwise.
            """
    )

    @Argument(help: ArgumentHelp("Rule files or folders.", valueName: "path")) var paths: [String]

    func run() throws {
        let files = try readRuleFiles(paths)
        switch RuleSet.load(files: files) {
        case .success(let set):
            for l in set.lints {
                print("\(l.file):\(l.line):\(l.column): lint: \(l.message)")
            }
            if !set.lints.isEmpty {
                print("\(plural(set.lints.count, "lint")) in \(plural(set.rules.count, "rule")), \(plural(files.count, "file"))")
                throw Exit.findings
            }
            print("ok: \(plural(set.rules.count, "rule")) in \(plural(files.count, "file"))")
        case .failure(let problems):
            for e in problems.errors { print(e.description) }
            print("\(plural(problems.errors.count, "problem")) in \(plural(files.count, "file"))")
            throw Exit.findings
        }
    }
}

struct RulesTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run rule unit tests: events, evaluation times and the alerts expected to fire.",
        discussion: """
            Each FILE is a YAML test file (see docs/rules.md, "Testing rules"): the rule files \
            under test, events inline or from an NDJSON file, and at evaluation times the alerts \
            expected to fire or be pending, with their summaries. Events are evaluated on the \
            events clock (each at its occurred_at). Prints a readable diff for every mismatch; \
            exits 0 when every test passes, 1 when one fails or a file is invalid.
            """
    )

    @Argument(help: ArgumentHelp("Rule test files.", valueName: "file")) var files: [String]

    func run() throws {
        var tests = 0, passed = 0, broken = 0
        for path in files {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                printError("raqamctl: cannot read \(path)")
                throw Exit.ioError
            }
            let folder = (path as NSString).deletingLastPathComponent
            let outcome = RuleTestFile.run(path: path, text: text) { name in
                let full = name.hasPrefix("/") ? name : (folder.isEmpty ? name : folder + "/" + name)
                guard let t = try? String(contentsOfFile: full, encoding: .utf8) else { throw TestFileError(message: "no such readable file \(full)") }
                return t
            }
            for e in outcome.errors { print(e) }
            for f in outcome.failures { print("FAIL " + f) }
            if !outcome.errors.isEmpty { broken += 1 }
            tests += outcome.tests
            passed += outcome.passed
            if outcome.errors.isEmpty {
                print("\(outcome.failures.isEmpty ? "ok  " : "FAIL") \(path): \(outcome.passed) of \(plural(outcome.tests, "test")) passed")
            }
        }
        print("\(passed) passed, \(tests - passed) failed\(broken > 0 ? " (\(plural(broken, "file")) could not run)" : "")")
        if passed != tests || broken > 0 { throw Exit.findings }
    }
}

struct TestFileError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
