import ArgumentParser
import Foundation
import Journal
import Logging
import RaqamDaemon
import RaqamHTTP
import RaqamEngine
import RaqamStore
import Rules

/// raqamd: parses its flags and configuration file, then runs the daemon library.
@main
struct Raqamd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raqamd",
        abstract: "The raqam monitoring daemon: single writer of the event log, rule evaluator and alerter.",
        discussion: """
            Runs in the foreground (systemd: Type=notify). Reads --config (default \
            /etc/raqam/raqamd.yaml when it exists); flags override the file. Appends come \
            through the control socket (docs/control-socket.md) and the HTTP API \
            (docs/api.md: reporting bodies with tokens, over TLS when http.tls_certificate \
            is set); alerts go to the journal \
            (docs/journal.md), or to standard error when no journald runs. SIGHUP reloads \
            the rules (a broken set is refused, the old one keeps running); SIGTERM stops \
            cleanly.

            Exit codes: 0 stopped cleanly; 65 the rule set is broken; 74 I/O error (the log \
            is locked by another writer, damaged, or not writable); 78 bad configuration.
            """,
        version: "\(RaqamVersion.string) (\(SystemdNotifier.libraryDescription))"
    )

    @Option(help: ArgumentHelp("The configuration file (keys: docs/configuration.md).", valueName: "file")) var config: String?
    @Option(help: ArgumentHelp("The state directory (config: state_dir; default /var/lib/raqam).", valueName: "dir")) var stateDir: String?
    @Option(help: ArgumentHelp("Rule file or folder; repeat for more (config: rules; default /etc/raqam/rules).", valueName: "path")) var rules: [String] = []
    @Option(help: ArgumentHelp("The control socket (config: socket; default /run/raqam/raqamd.sock).", valueName: "path")) var socket: String?
    @Option(help: ArgumentHelp("wall or events (config: clock; default: the state directory's, else wall).", valueName: "clock")) var clock: String?
    @Option(help: ArgumentHelp("The evaluation grid's step (config: evaluation_interval; default 1d).", valueName: "duration")) var evaluationInterval: String?
    @Option(help: ArgumentHelp("How often to look for due ticks (config: check_interval; default 60s).", valueName: "duration")) var checkInterval: String?
    @Option(help: ArgumentHelp("The HTTP API's HOST:PORT, \"\" for none (config: http.listen; default 127.0.0.1:8470).", valueName: "address")) var httpListen: String?

    func run() async throws {
        let journal = Journal()
        LoggingSystem.bootstrap { label in
            var h = JournalLogHandler(label: label, journal: journal)
            h.logLevel = .info
            h.echoToTerminal = isatty(STDERR_FILENO) != 0
            return h
        }
        let logger = Logger(label: "raqamd")
        var c = DaemonConfiguration()
        let file = config ?? (FileManager.default.fileExists(atPath: "/etc/raqam/raqamd.yaml") ? "/etc/raqam/raqamd.yaml" : nil)
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                logger.critical("cannot read the configuration file \(file)")
                throw ExitCode(78)
            }
            do { c = try DaemonConfiguration.load(file: file, text: text) } catch {
                logger.critical("\(error)")
                throw ExitCode(78)
            }
        }
        if let stateDir { c.stateDirectory = stateDir }
        if !rules.isEmpty { c.rules = rules }
        if let socket { c.socket = socket }
        if let httpListen {
            if httpListen.isEmpty { c.http.listen = nil } else {
                guard let l = HTTPConfiguration.parseListen(httpListen) else { throw ValidationError("--http-listen must be HOST:PORT such as 127.0.0.1:8470, or \"\" for none") }
                c.http.listen = l
            }
        }
        if let clock {
            guard let v = EvaluationClock(rawValue: clock) else { throw ValidationError("--clock must be wall or events") }
            c.clock = v
        }
        for (text, name) in [(evaluationInterval, "--evaluation-interval"), (checkInterval, "--check-interval")] {
            guard let text else { continue }
            guard let d = parseDuration(text), d > 0 else { throw ValidationError("\(name): \"\(text)\" is not a duration such as 1d, 1h or 30s") }
            if name == "--evaluation-interval" { c.evaluationInterval = d } else { c.checkInterval = d }
        }
        do {
            try await Daemon.run(configuration: c, journal: journal, logger: logger)
        } catch let e as DaemonConfiguration.Problem {
            logger.critical("\(e)")
            throw ExitCode(78)
        } catch let e as HTTPServer.Problem {
            logger.critical("\(e)")
            throw ExitCode(78)
        } catch let e as EvaluationClock.SettingProblem {
            logger.critical("\(e)")
            throw ExitCode(78)
        } catch let e as RuleSources.Failure {
            for p in e.problems { logger.critical("raqamd cannot start: rules rejected: \(p)", metadata: ["message.id": "\(MessageID.rulesBrokenAtStart)"]) }
            throw ExitCode(65)
        } catch let e as StoreError where e.damage != nil {
            // Damage is the one failure Restart= cannot mend: say so under its own MESSAGE_ID.
            var metadata: Logger.Metadata = ["message.id": "\(MessageID.logCorrupt)"]
            if let path = e.damage?.path { metadata["log.segment"] = "\(path)" }
            if let offset = e.damage?.offset { metadata["log.offset"] = "\(offset)" }
            logger.critical("raqamd cannot run: \(e)", metadata: metadata)
            throw ExitCode(74)
        } catch {
            logger.critical("raqamd cannot run: \(error)")
            throw ExitCode(74)
        }
    }
}

enum RaqamVersion {
    static let string = "0.1.0"
}
