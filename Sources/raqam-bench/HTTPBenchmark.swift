import ArgumentParser
import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import NIOPosix
import RaqamControl
import RaqamModel
import RaqamSystem
import Synchronization

/// raqamd's HTTP intake beside its control socket, in the same raqamd and the same run:
/// events per second through `POST /v1/events` and through the socket with 1 and 64
/// connections and batches of 1 and 1,000 (each connection sends a batch and waits for its
/// answer), and the latency of a single-event POST beside `fdatasync`'s in the same directory.
/// Targets (issue 13): 64 connections × batches of 1,000 over HTTP at ≥ 80 % of the socket;
/// a single event's p99 within 2 ms plus the fdatasync p99. The latency is taken once the
/// evaluator has caught up with the throughput cases (`sync` on the socket): a reporter's
/// single event meets a daemon in its steady state, not one still folding a million events.
struct HTTPBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "POST /v1/events beside the control socket: events/s with 1 and 64 connections, batches of 1 and 1,000; single-event p50/p99 beside fdatasync's."
    )

    @Option(help: "Seconds of each throughput measurement.") var seconds = 5
    @Option(help: "Timed runs; medians are reported.") var runs = 3
    @Option(help: "Directory for the state directories (not a tmpfs: fsync would be free).") var dir: String = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "A short smoke run.") var quick = false

    var bin: String { URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]).deletingLastPathComponent().path }

    func progress(_ s: String) { if !json { FileHandle.standardError.write(Data("… \(s)\n".utf8)) } }

    /// The cases: connections × batch size.
    static let cases: [(connections: Int, batch: Int)] = [(1, 1), (64, 1), (1, 1_000), (64, 1_000)]

    struct Run {
        var http: [Double] = []
        var socket: [Double] = []
        var p50 = 0.0, p99 = 0.0, syncP50 = 0.0, syncP99 = 0.0
        /// Seconds the evaluator took to catch up after the throughput cases.
        var settle = 0.0
    }

    func run() throws {
        let runs = quick ? 1 : self.runs
        let length = quick ? 1.0 : Double(seconds)
        var all: [Run] = []
        for r in 0..<runs {
            progress("run \(r + 1) of \(runs)")
            all.append(try once(length: length))
        }
        func med(_ f: (Run) -> Double) -> Double { medianOf(all.map(f)) }
        let rows = Self.cases.enumerated().map { k, c in
            (c, med { $0.http[k] }, med { $0.socket[k] }, all.map { $0.http[k] }, all.map { $0.socket[k] })
        }
        let p50 = med(\.p50), p99 = med(\.p99), syncP50 = med(\.syncP50), syncP99 = med(\.syncP99)
        if json {
            var fields = [#""benchmark":"http""#]
            for (c, h, s, _, _) in rows {
                fields.append(#""http_\#(c.connections)x\#(c.batch)_events_per_s":\#(h)"#)
                fields.append(#""socket_\#(c.connections)x\#(c.batch)_events_per_s":\#(s)"#)
            }
            fields += [#""settle_s":\#(med(\.settle))"#, #""single_p50_ms":\#(p50)"#, #""single_p99_ms":\#(p99)"#, #""fdatasync_p50_ms":\#(syncP50)"#, #""fdatasync_p99_ms":\#(syncP99)"#]
            print("{" + fields.joined(separator: ",") + "}")
            return
        }
        print("raqamd's HTTP intake beside its control socket (the same raqamd, the same run); median of \(runs) runs (each listed)")
        var table = rows.map { c, h, s, hs, ss in
            ["\(c.connections) connection\(c.connections == 1 ? "" : "s"), batches of \(grouped(Double(c.batch)))", "\(grouped(h)) events/s",
             "\(grouped(s)) events/s", String(format: "%.2f", h / s), hs.map { grouped($0) }.joined(separator: " / ") + "  vs  " + ss.map { grouped($0) }.joined(separator: " / ")]
        }
        table.insert(["", "HTTP", "socket", "HTTP / socket", "runs (HTTP vs socket)"], at: 0)
        print(renderRows(table))
        print(renderRows([
            ["evaluator caught up after the throughput cases in", String(format: "%.1f s", med(\.settle)), all.map { String(format: "%.1f", $0.settle) }.joined(separator: " / ")],
            ["single-event POST, p50 / p99 (then)", String(format: "%.3f / %.3f ms", p50, p99), all.map { String(format: "%.3f", $0.p99) }.joined(separator: " / ")],
            ["  fdatasync in the same directory, p50 / p99", String(format: "%.3f / %.3f ms", syncP50, syncP99), all.map { String(format: "%.3f", $0.syncP99) }.joined(separator: " / ")],
            ["  target: p99 ≤ 2 ms + fdatasync p99", String(format: "%.3f ms: %@", 2 + syncP99, p99 <= 2 + syncP99 ? "met" : "not met"), ""],
            ["  target: 64 × 1,000 over HTTP ≥ 80 % of the socket", String(format: "%.0f %%: %@", rows[3].1 / rows[3].2 * 100, rows[3].1 >= 0.8 * rows[3].2 ? "met" : "not met"), ""],
        ]))
    }

    /// One raqamd: each case over HTTP, then over the socket, then the single-event latency.
    func once(length: Double) throws -> Run {
        let state = dir + "/raqam-bench-http-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: state) }
        let rules = state + "/bench.yaml"
        try DaemonBenchmark.rules.write(toFile: rules, atomically: true, encoding: .utf8)
        try Self.runTool(bin + "/raqamctl", ["init", "--state-dir", state])
        let token = try Self.runTool(bin + "/raqamctl", ["tokens", "issue", "nation", "--role", "admin", "--state-dir", state]).trimmingCharacters(in: .whitespacesAndNewlines)
        let port = try Self.freePort()
        let config = state + "/raqamd.yaml"
        try "http:\n  listen: 127.0.0.1:\(port)\n  rate_limit: 0\n".write(toFile: config, atomically: true, encoding: .utf8)
        let syncs = try Ceilings.fdatasyncLatencies(dir: state, recordBytes: 300, count: 500).sorted()
        let daemon = try RunningDaemon(binDir: bin, state: state, rules: rules, extraArguments: ["--config", config, "--http-listen", "127.0.0.1:\(port)"])
        defer { daemon.stop() }
        let base = "http://127.0.0.1:\(port)/v1/events"
        let counter = Counter()
        @Sendable func batch(_ n: Int) -> String {
            let first = counter.value.add(n, ordering: .relaxed).oldValue
            return (first..<(first + n)).map(Self.event).joined(separator: "\n") + "\n"
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: .init(
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
        defer { try? client.syncShutdown(); try? group.syncShutdownGracefully() }
        var run = Run()
        for c in Self.cases {
            progress("HTTP: \(c.connections) × batches of \(c.batch)")
            run.http.append(try Self.rate(connections: c.connections, length: length) { _ in
                let body = batch(c.batch)
                var request = try HTTPClient.Request(url: base, method: .POST)
                request.headers.add(name: "Authorization", value: "Bearer " + token)
                request.headers.add(name: "Content-Type", value: "application/x-ndjson")
                request.body = .string(body)
                let response = try client.execute(request: request).wait()
                guard response.status.code == 200 else { throw ValidationError("POST answered \(response.status.code)") }
                return c.batch
            })
            progress("socket: \(c.connections) × batches of \(c.batch)")
            let sockets = try (0..<c.connections).map { _ in try Control.connect(daemon.socketPath) }
            let readers = Readers(sockets.map { ReplyReader(socket: $0) })
            run.socket.append(try Self.rate(connections: c.connections, length: length) { k in
                try Control.send(sockets[k], String(batch(c.batch).dropLast()))
                for _ in 0..<c.batch {
                    guard let reply = readers.readers[k].next(), reply.hasPrefix("ok ") else { throw ValidationError("the socket did not acknowledge") }
                }
                return c.batch
            })
        }
        progress("waiting for the evaluator to catch up")
        let settleStart = now()
        // `sync` answers within 60 s, caught up or not: ask again while it is still folding.
        var reply = try Control.exchange(daemon.socketPath, "sync")
        while reply.contains("not caught up"), now() - settleStart < 600 { reply = try Control.exchange(daemon.socketPath, "sync") }
        guard reply.hasPrefix("ok ") else { throw ValidationError("sync: \(reply)") }
        run.settle = now() - settleStart
        progress("single-event POST latency")
        var latencies: [Double] = []
        let until = now() + length
        while now() < until {
            var request = try HTTPClient.Request(url: base, method: .POST)
            request.headers.add(name: "Authorization", value: "Bearer " + token)
            request.headers.add(name: "Content-Type", value: "application/x-ndjson")
            request.body = .string(batch(1))
            let t0 = now()
            let response = try client.execute(request: request).wait()
            latencies.append((now() - t0) * 1000)
            guard response.status.code == 200 else { throw ValidationError("POST answered \(response.status.code)") }
        }
        latencies.sort()
        run.p50 = DaemonBenchmark.percentile(latencies, 0.5)
        run.p99 = DaemonBenchmark.percentile(latencies, 0.99)
        run.syncP50 = DaemonBenchmark.percentile(syncs, 0.5) / 1000
        run.syncP99 = DaemonBenchmark.percentile(syncs, 0.99) / 1000
        return run
    }

    /// `connections` threads, each calling `body` (which returns the events it sent) until
    /// `length` seconds pass: events per second.
    static func rate(connections: Int, length: Double, _ body: @escaping @Sendable (Int) throws -> Int) throws -> Double {
        let total = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let t0 = now()
        runThreads(connections) { k in
            while now() - t0 < length {
                do { total.add(try body(k), ordering: .relaxed) } catch {
                    failure.withLock { $0 = $0 ?? "\(error)" }
                    return
                }
            }
        }
        let elapsed = now() - t0
        if let f = failure.withLock({ $0 }) { throw ValidationError(f) }
        return Double(total.load(ordering: .relaxed)) / elapsed
    }

    /// The i-th event: a distinct id, all 208 districts in turn, the score flipping.
    static func event(_ i: Int) -> String {
        let districts = ReferenceData.bundled.districts
        let d = districts[i % districts.count].code
        let id = String(format: "%08x-0000-4000-8000-%012x", i >> 16, i)
        return #"{"id":"\#(id)","type":"assessment.recorded","subject":"district:\#(d)","occurred_at":"2021-05-01T10:00:00+05:00","data":{"organized":true,"score":\#((i / districts.count) % 2 == 0 ? 20 : 80)}}"#
    }

    /// One reply reader per connection. Unchecked: thread k touches `readers[k]` only, and
    /// the array itself is never resized while the threads run.
    final class Readers: @unchecked Sendable {
        var readers: [ReplyReader]
        init(_ readers: [ReplyReader]) { self.readers = readers }
    }

    /// The next event number, shared by the connections.
    final class Counter: Sendable { let value = Atomic<Int>(0) }

    @discardableResult
    static func runTool(_ path: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("\(path) \(arguments.joined(separator: " ")) exited \(p.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }

    static func freePort() throws -> Int {
        do { return try LoopbackTCP.freePort() } catch { throw ValidationError("no free TCP port on loopback: \(error)") }
    }
}
