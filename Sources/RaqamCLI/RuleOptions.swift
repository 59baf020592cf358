import ArgumentParser
import Foundation
import RaqamEngine
import Rules

/// `--rules PATH…`: the rule files to evaluate.
struct RuleOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A rule file or folder of *.yaml files; repeat for more (default: $RAQAM_RULES, else /etc/raqam/rules, else the bundled rules/).",
        valueName: "path"))
    var rules: [String] = []

    /// The paths given, or the default: `$RAQAM_RULES`, `/etc/raqam/rules`, then the bundled
    /// `rules/` found beside the installed or built binary.
    func paths() throws -> [String] {
        if !rules.isEmpty { return rules }
        if let env = ProcessInfo.processInfo.environment["RAQAM_RULES"], !env.isEmpty { return [env] }
        if FileManager.default.fileExists(atPath: "/etc/raqam/rules") { return ["/etc/raqam/rules"] }
        if let bundled = bundledRulesDirectory() { return [bundled] }
        printError("raqamctl: no rules: pass --rules PATH (no /etc/raqam/rules, no bundled rules/ found)")
        throw Exit.usage
    }

    /// Loads and checks the rule set; prints every problem and exits 65 when it is invalid.
    func load() throws -> RuleSet {
        let files = try readRuleFiles(try paths())
        switch RuleSet.load(files: files) {
        case .success(let set): return set
        case .failure(let problems):
            for e in problems.errors { printError(e.description) }
            printError("raqamctl: the rule set has \(plural(problems.errors.count, "problem")); nothing was evaluated")
            throw Exit.dataError
        }
    }
}

/// `<prefix>/share/raqam/rules` for an installed binary, `rules/` of the source tree for a
/// built one (the binary sits in `.build/<triple>/<config>/`).
func bundledRulesDirectory() -> String? {
    var dir = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        .deletingLastPathComponent()
    for _ in 0..<5 {
        for candidate in ["share/raqam/rules", "rules"] {
            let path = dir.appendingPathComponent(candidate).path
            if FileManager.default.fileExists(atPath: path + "/national.yaml") { return path }
        }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

/// The text of every rule file under `paths` (files, or folders of *.yaml / *.yml); exits 74
/// when one cannot be read.
func readRuleFiles(_ paths: [String]) throws -> [(path: String, text: String)] {
    do throws(RuleSources.Failure) {
        return try RuleSources.read(paths)
    } catch {
        printError("raqamctl: \(error)")
        throw Exit.ioError
    }
}

/// `--clock`: how the log's events are placed in time for evaluation.
struct ClockOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "wall: evaluate each event from when it was recorded (live monitoring); events: from when it occurred (history, backfills, the demo). Default: the state directory's clock (raqamctl init --clock), else wall.",
        valueName: "clock"))
    var clock: ClockArgument?

    func resolved(stateDirectory: String) throws -> EvaluationClock {
        do {
            return try EvaluationClock.resolved(clock.map { $0 == .wall ? EvaluationClock.wall : .events }, stateDirectory: stateDirectory)
        } catch {
            printError("raqamctl: \(error)")
            throw Exit.dataError
        }
    }
}

/// The values of `--clock`.
enum ClockArgument: String, ExpressibleByArgument, CaseIterable {
    case wall, events
}

/// `--rules`, `--clock` and `--interval`: how to evaluate the rules as raqamd does, for the
/// commands that fold the log themselves (lagging, alerts --firing, explain).
struct EvaluationOptions: ParsableArguments {
    @OptionGroup var ruleOptions: RuleOptions
    @OptionGroup var clockOptions: ClockOptions
    @Option(help: ArgumentHelp("The evaluation grid's step (default 1d, as raqamd's evaluation_interval).", valueName: "duration"))
    var interval: String = "1d"

    /// The rule set (exits 65 when broken), the clock and the step.
    func resolved(stateDirectory: String) throws -> (rules: RuleSet, clock: EvaluationClock, step: Int64) {
        guard let step = parseDuration(interval), step > 0 else {
            throw ValidationError("--interval: \"\(interval)\" is not a duration such as 1d or 1h")
        }
        return (try ruleOptions.load(), try clockOptions.resolved(stateDirectory: stateDirectory), step)
    }
}
