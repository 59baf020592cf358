import ArgumentParser
import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import RaqamModel
import Synchronization

/// A real Alertmanager (Debian's prometheus-alertmanager) on loopback for the daemon
/// benchmark, and a poller of its `GET /api/v2/alerts` (every 2 ms) that notes when each
/// alert, by subject and `startsAt`, was first visible there: event → Alertmanager latency,
/// to within one poll.
final class AlertmanagerProbe: Sendable {
    let process: Process
    let url: String
    private let seen = Mutex<[String: Int64]>([:])
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let client = HTTPClient(eventLoopGroupProvider: .singleton)

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus-alertmanager") }

    init(directory: String) throws {
        let port = try HTTPBenchmark.freePort()
        url = "http://127.0.0.1:\(port)"
        let config = directory + "/alertmanager.yml"
        try "route:\n  receiver: none\nreceivers:\n  - name: none\n".write(toFile: config, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus-alertmanager")
        process.arguments = ["--config.file=\(config)", "--storage.path=\(directory)/alertmanager", "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address="]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if let r = try? client.get(url: url + "/-/ready").wait(), r.status == .ok { return }
            usleep(50_000)
        }
        kill(process.processIdentifier, SIGKILL)
        throw ValidationError("Alertmanager did not become ready on \(url)")
    }

    /// The key an alert is noted under: its subject and when its episode started (µs; to
    /// the millisecond, as Alertmanager's API writes times).
    static func key(subject: String, startsAt: Int64) -> String { subject + "|" + String(startsAt / 1000) }

    func startPolling() {
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                poll()
                usleep(2_000)
            }
            finished.signal()
        }
        thread.start()
    }

    private func poll() {
        guard let r = try? client.get(url: url + "/api/v2/alerts?active=true&silenced=false&inhibited=false").wait(),
              var body = r.body, let bytes = body.readBytes(length: body.readableBytes) else { return }
        let at = DaemonBenchmark.realtime()
        guard let alerts = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]] else { return }
        var keys: [String] = []
        for a in alerts {
            guard let subject = (a["labels"] as? [String: String])?["subject"],
                  let starts = (a["startsAt"] as? String).flatMap({ Timestamp(rfc3339: $0) }) else { continue }
            keys.append(Self.key(subject: subject, startsAt: starts.micros))
        }
        seen.withLock { s in for k in keys where s[k] == nil { s[k] = at } }
    }

    /// When each alert was first seen (realtime µs), by `key`.
    func stop() -> [String: Int64] {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        try? client.syncShutdown()
        return seen.withLock { $0 }
    }
}
