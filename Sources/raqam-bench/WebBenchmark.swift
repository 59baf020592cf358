import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import RaqamStore

/// The web view's server time per page on the H1-2021 scenario: each page loaded `--loads`
/// times over one keep-alive connection (the client is on the same machine, so the time is
/// the server's plus a loopback round trip), beside the API's answer to the same question
/// (`GET /v1/lagging`, the peer: what the who-lags page renders) and `GET /healthz` (the
/// ceiling: a round trip through raqamd's HTTP stack doing nothing). Targets (issue 15): p99
/// under 50 ms on the scenario; page weight under 200 KB.
struct WebBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "The web view's pages on the H1-2021 scenario: server time p50/p99 per page beside the API and /healthz, and page weight."
    )

    @Option(help: "Loads of each page per run.") var loads = 100
    @Option(help: "Timed runs; medians are reported.") var runs = 3
    @Option(help: "The rule files (a folder).") var rules = "rules"
    @Option(help: "Directory for the state directory.") var dir: String = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "A short smoke run.") var quick = false
    @Option(help: ArgumentHelp("""
        Instead of the scenario, a log of this many events (the engine benchmark's workload, \
        occurring in order over 266 days, events clock); raqamd folds it once, then every run \
        loads the pages of the present and of 2021-03-31 from the one raqamd.
        """, valueName: "n")) var events: Int?
    @Flag(help: "Keep the large log's state directory (to look into it afterwards).") var keep = false

    var bin: String { URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]).deletingLastPathComponent().path }

    func progress(_ s: String) { if !json { FileHandle.standardError.write(Data("… \(s)\n".utf8)) } }

    /// The pages, the peer and the ceiling, as of the scenario's last day.
    static let targets: [(name: String, path: String)] = [
        ("nation", "/?at=2021-06-30"), ("region", "/regions/region:1703?at=2021-06-30"),
        ("subject", "/subjects/district:1703202?at=2021-06-30"), ("who-lags", "/lagging?at=2021-06-30"),
        ("API: /v1/lagging (peer)", "/v1/lagging?at=2021-06-30"), ("/healthz (ceiling)", "/healthz"),
    ]

    struct Measured { var p50: [Double] = [], p99: [Double] = [], bytes: [Double] = [] }

    /// One load of `path` with the token: its time (ms, the server's plus a loopback round
    /// trip) and the body's size; anything but 200 ends the run.
    static func load(_ client: HTTPClient, port: Int, path: String, token: String) throws -> (ms: Double, bytes: Int) {
        var request = try HTTPClient.Request(url: "http://127.0.0.1:\(port)" + path, method: .GET)
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        let t0 = now()
        let response = try client.execute(request: request).wait()
        let t = (now() - t0) * 1000
        guard response.status.code == 200 else { throw ValidationError("GET \(path) answered \(response.status.code)") }
        return (t, response.body?.readableBytes ?? 0)
    }

    /// The pages on a large log: those of the present (raqamd's live engine) and of a past
    /// day (a fold of the log, kept for the next loads), the API and the ceiling.
    static let largeTargets: [(name: String, path: String)] = [
        ("nation", "/"), ("region", "/regions/region:1703"), ("subject", "/subjects/district:1703202"), ("who-lags", "/lagging"),
        ("nation ?at=2021-03-31", "/?at=2021-03-31"), ("region ?at=", "/regions/region:1703?at=2021-03-31"),
        ("subject ?at=", "/subjects/district:1703202?at=2021-03-31"), ("who-lags ?at=", "/lagging?at=2021-03-31"),
        ("API: /v1/alerts (peer)", "/v1/alerts?state=firing"), ("/healthz (ceiling)", "/healthz"),
    ]

    func run() throws {
        if let events { return try runLarge(events) }
        let runs = quick ? 1 : self.runs
        let loads = quick ? 5 : self.loads
        let state = dir + "/raqam-bench-web-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: state) }
        progress("the H1-2021 scenario into \(state)")
        _ = try HTTPBenchmark.runTool(bin + "/raqamctl", ["demo", "--output", state + "/h1.ndjson"])
        _ = try HTTPBenchmark.runTool(bin + "/raqamctl", ["init", "--state-dir", state, "--clock", "events", "--effective", "2020-10-05"])
        _ = try HTTPBenchmark.runTool(bin + "/raqamctl", ["append", "--state-dir", state, state + "/h1.ndjson"])
        let token = try HTTPBenchmark.runTool(bin + "/raqamctl", ["tokens", "issue", "nation", "--role", "read", "--state-dir", state])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var measured = Array(repeating: Measured(), count: Self.targets.count)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = HTTPClient(eventLoopGroupProvider: .shared(group))
        defer { try? client.syncShutdown(); try? group.syncShutdownGracefully() }
        for r in 0..<runs {
            progress("run \(r + 1) of \(runs): \(loads) loads of each page")
            let port = try HTTPBenchmark.freePort()
            let daemon = try RunningDaemon(binDir: bin, state: state, rules: rules, extraArguments: ["--http-listen", "127.0.0.1:\(port)"])
            defer { daemon.stop() }
            for (k, target) in Self.targets.enumerated() {
                var times: [Double] = []
                var bytes = 0
                for i in 0..<(loads + 3) {
                    let (t, size) = try Self.load(client, port: port, path: target.path, token: token)
                    bytes = size
                    if i >= 3 { times.append(t) }  // the first loads warm the caches
                }
                times.sort()
                measured[k].p50.append(DaemonBenchmark.percentile(times, 0.5))
                measured[k].p99.append(DaemonBenchmark.percentile(times, 0.99))
                measured[k].bytes.append(Double(bytes))
            }
        }
        let ceiling = medianOf(measured[Self.targets.count - 1].p99)
        let peer = medianOf(measured[Self.targets.count - 2].p99)
        if json {
            var fields = [#""benchmark":"web""#, #""loads":\#(loads)"#]
            for (k, t) in Self.targets.enumerated() {
                let key = t.name.split(separator: " ").first.map { $0.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: "/", with: "").replacingOccurrences(of: ":", with: "") } ?? "page"
                fields += [#""\#(key)_p50_ms":\#(medianOf(measured[k].p50))"#, #""\#(key)_p99_ms":\#(medianOf(measured[k].p99))"#, #""\#(key)_bytes":\#(medianOf(measured[k].bytes))"#]
            }
            print("{" + fields.joined(separator: ",") + "}")
            return
        }
        print("The web view on the H1-2021 scenario (\(loads) loads of each page per run, median of \(runs) runs; each run's p99 listed)")
        var rows = [["", "p50", "p99", "p99 / API", "p99 / ceiling", "weight", "runs' p99"]]
        for (k, t) in Self.targets.enumerated() {
            let m = measured[k]
            rows.append([t.name, String(format: "%.1f ms", medianOf(m.p50)), String(format: "%.1f ms", medianOf(m.p99)),
                         String(format: "%.2f", medianOf(m.p99) / peer), String(format: "%.0f", medianOf(m.p99) / ceiling),
                         String(format: "%.0f KB", medianOf(m.bytes) / 1000), m.p99.map { String(format: "%.1f", $0) }.joined(separator: " / ")])
        }
        print(renderRows(rows))
        let worst = (0..<4).map { medianOf(measured[$0].p99) }.max() ?? .nan
        let heaviest = (0..<4).map { medianOf(measured[$0].bytes) }.max() ?? .nan
        print(String(format: "target: every page p99 under 50 ms: %.1f ms, %@; under 200 KB: %.0f KB, %@", worst, worst < 50 ? "met" : "not met",
                     heaviest / 1000, heaviest < 200_000 ? "met" : "not met"))
    }
}

extension WebBenchmark {
    func runLarge(_ count: Int) throws {
        let runs = quick ? 1 : self.runs
        let loads = quick ? 5 : self.loads
        let state = dir + "/raqam-bench-web-large-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        defer { if keep { progress("kept \(state)") } else { try? FileManager.default.removeItem(atPath: state) } }
        progress("writing \(count) events (events clock) into \(state)")
        try FileEventStore.setClock("events", stateDirectory: state)
        var generator = OrderedWorkload(count: count)
        try EngineBenchmark.append(to: state) { store in
            while generator.produced < count { try store.append(generator.next(min(10_000, count - generator.produced))) }
        }
        let token = try HTTPBenchmark.runTool(bin + "/raqamctl", ["tokens", "issue", "nation", "--role", "read", "--state-dir", state])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        progress("raqamd folds the whole log once (its snapshot on SIGTERM makes the next start short)")
        try RunningDaemon(binDir: bin, state: state, rules: rules).stop()
        let port = try HTTPBenchmark.freePort()
        progress("raqamd from its snapshot")
        let daemon = try RunningDaemon(binDir: bin, state: state, rules: rules, extraArguments: ["--http-listen", "127.0.0.1:\(port)"])
        defer { daemon.stop() }
        let targets = Self.largeTargets
        var measured = Array(repeating: Measured(), count: targets.count)
        var first = Array(repeating: Double.nan, count: targets.count)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = HTTPClient(eventLoopGroupProvider: .shared(group),
                                configuration: .init(timeout: .init(connect: .seconds(10), read: .seconds(3600))))
        defer { try? client.syncShutdown(); try? group.syncShutdownGracefully() }
        for r in 0..<runs {
            progress("run \(r + 1) of \(runs): \(loads) loads of each page")
            for (k, target) in targets.enumerated() {
                var times: [Double] = []
                var bytes = 0
                for i in 0..<(loads + (r == 0 ? 1 : 0)) {
                    let (t, size) = try Self.load(client, port: port, path: target.path, token: token)
                    bytes = size
                    // The first load after the start folds what the page needs (reported apart).
                    if r == 0 && i == 0 { first[k] = t } else { times.append(t) }
                }
                times.sort()
                measured[k].p50.append(DaemonBenchmark.percentile(times, 0.5))
                measured[k].p99.append(DaemonBenchmark.percentile(times, 0.99))
                measured[k].bytes.append(Double(bytes))
            }
        }
        let ceiling = medianOf(measured[targets.count - 1].p99)
        let peer = medianOf(measured[targets.count - 2].p99)
        let rss = Double(DaemonBenchmark.status(daemon.pid, "VmRSS:")) / 1024
        if json {
            var fields = [#""benchmark":"web","events":\#(count),"loads":\#(loads),"rss_mib":\#(rss)"#]
            for (k, t) in targets.enumerated() {
                let key = t.name.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
                fields += [#""\#(key)_first_ms":\#(first[k])"#, #""\#(key)_p50_ms":\#(medianOf(measured[k].p50))"#,
                           #""\#(key)_p99_ms":\#(medianOf(measured[k].p99))"#, #""\#(key)_bytes":\#(medianOf(measured[k].bytes))"#]
            }
            print("{" + fields.joined(separator: ",") + "}")
            return
        }
        print("The web view on a \(count)-event log (\(loads) loads of each page per run, median of \(runs) runs from one raqamd; the first load after its start apart)")
        var rows = [["", "first load", "p50", "p99", "p99 / API", "p99 / ceiling", "weight", "runs' p99"]]
        for (k, t) in targets.enumerated() {
            let m = measured[k]
            rows.append([t.name, String(format: "%.0f ms", first[k]), String(format: "%.1f ms", medianOf(m.p50)), String(format: "%.1f ms", medianOf(m.p99)),
                         String(format: "%.2f", medianOf(m.p99) / peer), String(format: "%.0f", medianOf(m.p99) / ceiling),
                         String(format: "%.0f KB", medianOf(m.bytes) / 1000), m.p99.map { String(format: "%.1f", $0) }.joined(separator: " / ")])
        }
        print(renderRows(rows))
        let worst = (0..<(targets.count - 2)).map { medianOf(measured[$0].p99) }.max() ?? .nan
        let heaviest = (0..<(targets.count - 2)).map { medianOf(measured[$0].bytes) }.max() ?? .nan
        print(String(format: "target: every page p99 under 200 ms: %.1f ms, %@; under 200 KB: %.0f KB, %@; raqamd RSS %.0f MiB", worst, worst < 200 ? "met" : "not met",
                     heaviest / 1000, heaviest < 200_000 ? "met" : "not met", rss))
    }
}
