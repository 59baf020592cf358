import ArgumentParser
import Foundation
import Glibc
import Synchronization

/// What raqamctl does to its arguments before the argument parser reads them, so that it keeps
/// the habits of journalctl and promtool: options shared by the commands may come before the
/// subcommand (`raqamctl --state-dir D events` is `raqamctl events --state-dir D`), and a
/// mistyped subcommand gets a suggestion instead of the top-level usage.
enum CommandLineHabits {
    /// The options the commands share, each with a value (`-o` too: every command that lists
    /// takes it).
    static let globalOptions: Set<String> = ["--state-dir", "--socket", "--server", "--token-file", "--cacert", "-o", "--output", "--lang"]

    /// The outcome: the arguments to parse, or a usage error to print (exit 64).
    enum Outcome: Equatable {
        case parse([String])
        case unknownSubcommand(message: String)
    }

    /// Moves leading global options to just after the subcommand path, and names the nearest
    /// subcommand when a word in that path is none. Everything else is left to the parser.
    static func rewrite(_ arguments: [String], root: any ParsableCommand.Type) -> Outcome {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            let name = first.split(separator: "=", maxSplits: 1).first.map(String.init) ?? first
            guard globalOptions.contains(name) else { break }
            leading.append(first)
            rest = rest.dropFirst()
            if !first.contains("="), let value = rest.first {
                leading.append(value)
                rest = rest.dropFirst()
            }
        }
        // The subcommand path: words naming a subcommand of the one before.
        var path: [String] = []
        var command: any ParsableCommand.Type = root
        var chain = "raqamctl"
        while let word = rest.first {
            let children = command.configuration.subcommands
            guard !children.isEmpty, !word.hasPrefix("-") else { break }
            if word == "help" { break }
            guard let child = children.first(where: { $0._commandName == word }) else {
                // A command without a default subcommand takes no positional argument: the word
                // was meant as a subcommand.
                guard command.configuration.defaultSubcommand == nil else { break }
                let names = children.map { $0._commandName }
                return .unknownSubcommand(message: unknownMessage(word, chain: chain, names: names))
            }
            path.append(word)
            chain += " " + word
            command = child
            rest = rest.dropFirst()
        }
        guard !leading.isEmpty, !path.isEmpty else { return .parse(arguments) }
        return .parse(path + leading + Array(rest))
    }

    static func unknownMessage(_ word: String, chain: String, names: [String]) -> String {
        let close = names
            .map { (name: $0, distance: editDistance(word.lowercased(), $0)) }
            .filter { $0.distance <= max(2, word.count / 3) || $0.name.hasPrefix(word.lowercased()) }
            .sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }
            .prefix(3).map(\.name)
        var message = "\(chain): \"\(word)\" is not a subcommand"
        if !close.isEmpty { message += "; did you mean " + close.map { "\"\($0)\"" }.joined(separator: " or ") + "?" }
        message += "\nThe subcommands: " + names.joined(separator: ", ") + " (\(chain) --help says what each does)."
        return message
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension RaqamCtl {
    /// raqamctl's entry point: the arguments rewritten (`CommandLineHabits`), then parsed and run.
    public static func main() {
        switch CommandLineHabits.rewrite(Array(CommandLine.arguments.dropFirst()), root: RaqamCtl.self) {
        case .parse(let arguments):
            if Terminal.pages(arguments) {
                _ = Terminal.colours
                Terminal.startPager()
            }
            do {
                var command = try parseAsRoot(arguments)
                do { try command.run() } catch let error as ValidationError {
                    // A usage error found while running is the subcommand's, as one found while
                    // parsing is: its usage, not the top level's.
                    let usage = usageString(for: type(of: command))
                    let path = usage.split(separator: " ").prefix { !$0.hasPrefix("[") && !$0.hasPrefix("<") && !$0.hasPrefix("-") }.joined(separator: " ")
                    FileHandle.standardError.write(Data("Error: \(error.message)\nUsage: \(usage)\n  See '\(path) --help' for more information.\n".utf8))
                    Glibc.exit(ExitCode.validationFailure.rawValue)
                }
            } catch {
                exit(withError: error)
            }
        case .unknownSubcommand(let message):
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Glibc.exit(ExitCode.validationFailure.rawValue)
        }
    }
}
