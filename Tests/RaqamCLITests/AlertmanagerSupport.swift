import Foundation
import RaqamSystem
import Glibc
import RaqamTestSupport
import Synchronization

/// A real Alertmanager (Debian's prometheus-alertmanager) on a free loopback port, with its
/// configuration and storage in `directory`, routing to `webhook`.
final class AlertmanagerProcess: @unchecked Sendable {  // driven by one test
    let directory: String
    let port = freePort()
    let web: Web?
    var url: String { "\(web == nil ? "http" : "https")://127.0.0.1:\(port)" }
    var process: Process?

    /// HTTPS with a certificate for 127.0.0.1 (made here with openssl, `certificate` is also
    /// the CA a client trusts) and one basic-auth user: Alertmanager's `--web.config.file`.
    struct Web {
        var username: String
        var password: String
    }

    /// What curl needs to reach it: the CA and the user.
    var curlAccess: [String] { web.map { ["--cacert", directory + "/am-cert.pem", "-u", "\($0.username):\($0.password)"] } ?? [] }

    init(directory: String, webhook: String, groupBy: [String] = ["alertname", "region"], web: Web? = nil) throws {
        self.directory = directory
        self.web = web
        if let web {
            let cert = try runProcess("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                                                           "-addext", "subjectAltName=IP:127.0.0.1",
                                                           "-keyout", directory + "/am-key.pem", "-out", directory + "/am-cert.pem"])
            guard cert.status == 0 else { throw CLITestError("openssl: \(cert.stderr)") }
            let hash = try runProcess("/usr/bin/python3", ["-W", "ignore", "-c",
                                                           "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", web.password])
            guard hash.status == 0, hash.stdout.hasPrefix("$2") else { throw CLITestError("bcrypt: \(hash.stderr)") }
            try """
                tls_server_config:
                  cert_file: \(directory)/am-cert.pem
                  key_file: \(directory)/am-key.pem
                basic_auth_users:
                  \(web.username): '\(hash.stdout.trimmingCharacters(in: .whitespacesAndNewlines))'
                """.write(toFile: directory + "/am-web.yml", atomically: true, encoding: .utf8)
        }
        let config = """
            route:
              receiver: hook
              group_by: [\(groupBy.joined(separator: ", "))]
              group_wait: 1s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: hook
                webhook_configs:
                  - url: \(webhook)
                    send_resolved: true
            """
        try config.write(toFile: directory + "/alertmanager.yml", atomically: true, encoding: .utf8)
        try start()
    }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus-alertmanager")
        p.arguments = ["--config.file=\(directory)/alertmanager.yml", "--storage.path=\(directory)/am-data",
                       "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address="]
            + (web == nil ? [] : ["--web.config.file=\(directory)/am-web.yml"])
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        process = p
        for _ in 0..<200 {
            if let r = try? runProcess("/usr/bin/curl", ["-sf"] + curlAccess + [url + "/-/ready"]), r.status == 0 { return }
            usleep(50_000)
        }
        throw CLITestError("Alertmanager did not become ready on \(url)")
    }

    func kill(_ signal: Int32 = SIGKILL) {
        guard let p = process else { return }
        Glibc.kill(p.processIdentifier, signal)
        if signal == SIGKILL || signal == SIGTERM { p.waitUntilExit(); process = nil }
    }

    /// `amtool alert query` as JSON: the active alerts (not silenced, not resolved).
    func query(_ matchers: [String] = []) throws -> [[String: Any]] {
        let r = try runProcess("/usr/bin/amtool", ["--alertmanager.url=\(url)", "alert", "query", "-o", "json"] + matchers)
        guard r.status == 0 else { throw CLITestError("amtool alert query failed: \(r.stderr)") }
        return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    /// `GET /api/v2/alerts` with curl (through TLS and basic auth when it has them).
    func apiAlerts() throws -> [[String: Any]] {
        let r = try runProcess("/usr/bin/curl", ["-sf"] + curlAccess + [url + "/api/v2/alerts"])
        guard r.status == 0 else { throw CLITestError("GET /api/v2/alerts failed (\(r.status)): \(r.stderr)") }
        return (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    /// Polls `query` until `done` says so, at most `seconds`; the last answer.
    func waitFor(_ seconds: Double, _ matchers: [String] = [], _ done: ([[String: Any]]) -> Bool) throws -> [[String: Any]] {
        let deadline = Date(timeIntervalSinceNow: seconds)
        var last: [[String: Any]] = []
        while Date() < deadline {
            last = try query(matchers)
            if done(last) { return last }
            usleep(100_000)
        }
        return last
    }

    func amtool(_ arguments: [String]) throws -> Finished {
        try runProcess("/usr/bin/amtool", ["--alertmanager.url=\(url)"] + arguments)
    }

    deinit { kill() }
}

/// A webhook receiver: a small HTTP server on loopback that keeps every notification's JSON.
final class WebhookReceiver: Sendable {
    let port: Int
    var url: String { "http://127.0.0.1:\(port)/hook" }
    private let fd: Int32
    let inbox = Inbox()

    final class Inbox: Sendable {
        let bodies = Mutex<[Data]>([])
        /// Each request's line and headers, lower-cased.
        let heads = Mutex<[String]>([])
    }

    /// The requests' lines and headers so far, lower-cased.
    var heads: [String] { inbox.heads.withLock { $0 } }

    init() throws {
        let (fd, port) = try LoopbackTCP.listen()
        self.fd = fd
        self.port = port
        let thread = Thread { [inbox] in Self.serve(fd, inbox) }
        thread.start()
    }

    /// The notifications received so far.
    var notifications: [[String: Any]] {
        inbox.bodies.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    /// Waits until `done` holds for the notifications, at most `seconds`.
    func waitFor(_ seconds: Double, _ done: ([[String: Any]]) -> Bool) -> [[String: Any]] {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            let n = notifications
            if done(n) { return n }
            usleep(100_000)
        }
        return notifications
    }

    private static func serve(_ fd: Int32, _ inbox: Inbox) {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65536)
            var body: [UInt8]?
            var head = ""
            while body == nil {
                let n = recv(c, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data += buffer[0..<n]
                if let end = data.firstRange(of: Array("\r\n\r\n".utf8)) {
                    head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
                    let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                    if data.count - end.upperBound >= length { body = Array(data[end.upperBound..<(end.upperBound + length)]) }
                }
            }
            if let body {
                inbox.heads.withLock { $0.append(head) }
                inbox.bodies.withLock { $0.append(Data(body)) }
            }
            let reply = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = send(c, reply, reply.count, Int32(MSG_NOSIGNAL))
            close(c)
        }
    }
}
