import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import RaqamSystem
import RaqamModel
import RaqamStore
import RaqamTestSupport
import Testing

/// The HTTP intake under many reporters and under clients that misbehave.
@Suite(.serialized) struct HTTPLoadTests {
    @Test func sixtyFourConcurrentReportersLoseNothingAndEveryReceiptVerifies() async throws {
        let d = try HTTPDaemon()
        let districts = Array(ReferenceData.bundled.districts.prefix(64)).map { "district:" + $0.code }
        var tokens: [String] = []
        for district in districts { tokens.append(try d.token(district)) }
        let perClient = 1_000, batch = 100
        let answers = try await withThrowingTaskGroup(of: [HTTPAnswer].self) { group in
            for (k, district) in districts.enumerated() {
                let token = tokens[k]
                group.addTask {
                    var mine: [HTTPAnswer] = []
                    for b in 0..<(perClient / batch) {
                        let lines = (0..<batch).map { i in
                            trainingEvent(district, day: 1 + i % 28, id: String(format: "00000000-0000-4000-8000-%04d%04d%04d", k, b, i), trained: i % 10)
                        }
                        mine.append(try await d.post(lines, token: token))
                    }
                    return mine
                }
            }
            var all: [HTTPAnswer] = []
            for try await a in group { all += a }
            return all
        }
        #expect(answers.count == 64 * perClient / batch)
        #expect(answers.allSatisfy { $0.status == 200 && $0.counts["stored"] == batch }, "\(answers.first { $0.status != 200 }?.text ?? "")")
        // Gap-free seqs, each event once.
        let stored = try d.events().filter { ($0["type"] as? String) == "training.reported" }
        #expect(stored.count == 64 * perClient)
        #expect(Set(stored.compactMap { $0["id"] as? String }).count == 64 * perClient)
        let all = try d.events().compactMap { $0["seq"] as? Int }
        #expect(all == Array(1...all.count))
        let acknowledged = answers.flatMap { $0.json["seqs"] as? [Int] ?? [] }
        #expect(Set(acknowledged).count == 64 * perClient && Set(acknowledged).isSubset(of: Set(all)))
        // Every receipt holds against the log.
        let reader = StoredEventReader(stateDirectory: d.state)
        for a in answers {
            let receipt = try Receipt(json: Array(a.body))
            #expect(try reader.problem(with: receipt) == nil)
        }
        #expect(try run("raqamctl", ["verify", "--state-dir", d.state]).status == 0)
        let file = d.state + "/receipt.json"
        try answers[answers.count / 2].body.write(to: URL(fileURLWithPath: file))
        #expect(try run("raqamctl", ["verify", "--state-dir", d.state, "--receipt", file]).status == 0)
        #expect(d.stop() == 0)
    }

    @Test func idleConnectionsAndASlowClientDoNotKeepAWellBehavedOneWaiting() async throws {
        let d = try HTTPDaemon()
        let token = try d.token("district:1703202")
        // This process holds the 1,000 connections' other ends.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let rssBefore = residentKiB(d.daemon.current!.processIdentifier)
        var idle: [Int32] = []
        for _ in 0..<1_000 {
            let fd = connectLoopback(port: d.port)
            if fd >= 0 { idle.append(fd) }
        }
        defer { for fd in idle { close(fd) } }
        #expect(idle.count == 1_000)
        // A client that sends its request one byte a second.
        let slow = connectLoopback(port: d.port)
        defer { close(slow) }
        let request = Array("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n".utf8)
        let slowSender = Thread {
            for b in request.prefix(8) {
                var byte = b
                _ = send(slow, &byte, 1, Int32(MSG_NOSIGNAL))
                sleep(1)
            }
        }
        slowSender.start()
        // raqamd has taken every connection once a request on a new one is answered.
        #expect(try await d.post([trainingEvent("district:1703202", day: 20)], token: token).status == 200)
        // Timed as dry runs: the claim is about the listener, and an fdatasync on a disk shared
        // with the other suites running in parallel can take seconds by itself.
        // Each on a connection of its own, by a client of its own (not the URLSession the
        // other tests share).
        for i in 0..<5 {
            let t0 = Date()
            let status = exchangeOnce(port: d.port, method: "POST", path: "/v1/events?dry_run=true", token: token,
                                      body: trainingEvent("district:1703202", day: 1 + i) + "\n")
            let elapsed = Date().timeIntervalSince(t0)
            #expect(status == 200)
            #expect(elapsed < 1.0, "a well-behaved request took \(elapsed) s beside 1,000 idle connections and a slow client")
        }
        #expect(try await d.post([trainingEvent("district:1703202", day: 7)], token: token).status == 200)
        let rssAfter = residentKiB(d.daemon.current!.processIdentifier)
        #expect(rssAfter - rssBefore < 64 * 1024, "raqamd grew by \(rssAfter - rssBefore) KiB for 1,000 idle connections")
        #expect(d.stop() == 0)
    }
}

/// A TCP connection to 127.0.0.1:`port`, or -1.
func connectLoopback(port: Int) -> Int32 { (try? LoopbackTCP.connect(port: port)) ?? -1 }

/// One HTTP/1.1 request on a new loopback connection; the answer's status (-1: none).
func exchangeOnce(port: Int, method: String, path: String, token: String, body: String) -> Int {
    let fd = connectLoopback(port: port)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/x-ndjson\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
    guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return -1 }
    var answer = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        answer += buffer[0..<n]
    }
    // "HTTP/1.1 200 OK"
    let head = String(decoding: answer.prefix(12), as: UTF8.self)
    return Int(head.dropFirst(9).prefix(3)) ?? -1
}

/// VmRSS of a process, KiB.
func residentKiB(_ pid: Int32) -> Int {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}
