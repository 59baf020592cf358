import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import RaqamSystem
import RaqamTestSupport

/// A TCP port on loopback that nothing listens on this instant.
func freePort() -> Int { (try? LoopbackTCP.freePort()) ?? 0 }

/// An HTTP answer as a client sees it.
struct HTTPAnswer: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var text: String { String(decoding: body, as: UTF8.self) }
    /// The summary's `counts`.
    var counts: [String: Int] { json["counts"] as? [String: Int] ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

/// raqamd with its HTTP API on a free loopback port, on a fresh state directory with the
/// reference data registered; `config` is more of raqamd.yaml (under `http:` when it says so).
final class HTTPDaemon: @unchecked Sendable {  // driven by one test
    let daemon: DaemonProcess
    let port: Int
    var base: String { "\(scheme)://127.0.0.1:\(port)" }
    var scheme = "http"
    var state: String { daemon.dir.path }

    let rules: [String]

    /// - Parameter prepare: fills the state directory instead of `raqamctl init` (before raqamd starts).
    init(config: String = "", rules: [String] = [], waitReady: Bool = true, prepare: ((String) throws -> Void)? = nil) throws {
        self.rules = rules.isEmpty ? [DaemonProcessTests().districtRules] : rules
        daemon = try DaemonProcess(rules: self.rules, initialize: prepare == nil, start: false)
        try prepare?(daemon.dir.path)
        port = freePort()
        if config.contains("tls_certificate") { scheme = "https" }
        let file = daemon.dir.path + "/raqamd.yaml"
        try "http:\n  listen: 127.0.0.1:\(port)\n\(config)".write(toFile: file, atomically: true, encoding: .utf8)
        daemon.httpListen = "127.0.0.1:\(port)"
        daemon.extraArguments = ["--config", file]
        try start(waitReady: waitReady)
    }

    func start(waitReady: Bool = true) throws {
        try daemon.start(rules: rules)
        if waitReady {
            let ready = daemon.notify.receive(for: 60) { $0.contains { $0.contains("READY=1") } }
            guard ready.contains(where: { $0.1.contains("READY=1") }) else { throw CLITestError("raqamd did not become ready") }
        }
    }

    /// Issues a token with raqamctl; the token's text.
    func token(_ subject: String, role: String = "report", extra: [String] = []) throws -> String {
        let r = try run("raqamctl", ["tokens", "issue", subject, "--role", role, "--state-dir", state] + extra)
        guard r.status == 0 else { throw CLITestError("tokens issue failed: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One request with URLSession (a real HTTP client), waiting for its answer.
    func request(_ method: String, _ path: String, token: String? = nil, body: Data? = nil,
                 contentType: String? = "application/x-ndjson", headers: [String: String] = [:]) async throws -> HTTPAnswer {
        var r = URLRequest(url: URL(string: base + path)!)
        r.httpMethod = method
        r.timeoutInterval = 120
        if let token { r.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        if body != nil, let contentType { r.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        r.httpBody = body
        let (data, response) = try await HTTPDaemon.session.data(for: r)
        let http = response as! HTTPURLResponse
        var h: [String: String] = [:]
        for (k, v) in http.allHeaderFields { h[String(describing: k).lowercased()] = String(describing: v) }
        return HTTPAnswer(status: http.statusCode, headers: h, body: data)
    }

    func post(_ lines: [String], token: String?, query: String = "", headers: [String: String] = [:]) async throws -> HTTPAnswer {
        try await request("POST", "/v1/events" + query, token: token, body: Data((lines.joined(separator: "\n") + "\n").utf8), headers: headers)
    }

    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.httpMaximumConnectionsPerHost = 128
        return URLSession(configuration: c)
    }()

    /// What the log holds, as `raqamctl events -o ndjson` prints it.
    func events() throws -> [[String: Any]] { try storedEvents(state) }

    func stop() -> Int32 {
        daemon.signal(SIGTERM)
        return daemon.waitExit()
    }
}

/// An event about `subject` that every scope's type accepts (`training.reported`), day `day` of May 2021.
func trainingEvent(_ subject: String, day: Int = 1, id: String? = nil, trained: Int = 5, source: String? = nil) -> String {
    let idPart = id.map { #""id":"\#($0)","# } ?? ""
    let sourcePart = source.map { #""source":"\#($0)","# } ?? ""
    return #"{\#(idPart)\#(sourcePart)"type":"training.reported","subject":"\#(subject)","occurred_at":"2021-05-\#(String(format: "%02d", day))T10:00:00+05:00","data":{"staff":10,"trained":\#(trained)}}"#
}

/// gzip of `data`, by /bin/gzip.
func gzipped(_ data: Data) throws -> Data {
    let dir = NSTemporaryDirectory() + "raqam-gz-\(UUID().uuidString)"
    try data.write(to: URL(fileURLWithPath: dir))
    defer { try? FileManager.default.removeItem(atPath: dir + ".gz") }
    let r = try runProcess("/bin/gzip", ["-f", dir])
    guard r.status == 0 else { throw CLITestError("gzip failed: \(r.stderr)") }
    return try Data(contentsOf: URL(fileURLWithPath: dir + ".gz"))
}
