import ArgumentParser
import Foundation
import Glibc
import RaqamControl
import RaqamSystem
import Synchronization

/// The torture's state: where it works, what it checked, and the figures it prints.
struct Torture {
    let binDir: String
    let rules: String
    let scratch: String
    var rng: SplitMix
    var checks = 0
    private(set) var failures: [String] = []
    private(set) var figures: [(String, String)] = []

    init(binDir: String, rules: String, scratch: String, seed: UInt64) {
        self.binDir = binDir
        self.rules = rules
        self.scratch = scratch
        rng = SplitMix(seed: seed)
    }

    mutating func check(_ holds: Bool, _ what: @autoclosure () -> String) {
        checks += 1
        if !holds { failures.append(what()) }
    }

    mutating func figure(_ name: String, _ value: String) {
        figures.append((name, value))
        print("  \(name): \(value)")
    }

    /// A state directory with the reference data registered, and a raqamd.yaml that writes
    /// snapshots often (so kills land during snapshots too, and restarts stay short).
    func freshState(_ name: String) throws -> String {
        let path = scratch + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let r = try ctl(["init", "--state-dir", path])
        guard r.status == 0 else { throw ValidationError("raqamctl init failed: \(r.stderr)") }
        try "snapshot_every: 2000\n".write(toFile: path + "/raqamd.yaml", atomically: true, encoding: .utf8)
        return path
    }

    /// Runs raqamctl; its exit status and output.
    func ctl(_ arguments: [String], stdin: [UInt8]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try runTool(binDir + "/raqamctl", arguments, stdin: stdin)
    }

    /// The stored events of a state directory: (id, seq) in log order.
    func stored(_ state: String) throws -> [(id: String?, seq: Int)] {
        let r = try ctl(["events", "--state-dir", state, "-o", "ndjson"])
        guard r.status == 0 else { throw ValidationError("raqamctl events failed: \(r.stderr)") }
        return r.stdout.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let seq = o["seq"] as? Int else { return nil }
            return (o["id"] as? String, seq)
        }
    }

    /// Checks what every acknowledgement promised: each acknowledged id is stored once, under
    /// the seq it was acknowledged with; seqs run 1, 2, 3… without a gap; `verify` passes.
    mutating func checkAcknowledged(_ state: String, _ acks: [String: Int], part: String) throws -> Int {
        let events = try stored(state)
        var seen: [String: Int] = [:]
        var twice = 0
        for (i, e) in events.enumerated() {
            if e.seq != i + 1 { check(false, "\(part): seq \(e.seq) at place \(i + 1) of the log") }
            if let id = e.id {
                if seen[id] != nil { twice += 1 }
                seen[id] = e.seq
            }
        }
        check(twice == 0, "\(part): \(twice) ids stored twice")
        var kept = 0
        for (id, seq) in acks {
            if seen[id] == seq { kept += 1 } else { check(false, "\(part): \(id) acknowledged as seq \(seq), stored as \(seen[id].map(String.init) ?? "nothing")") }
        }
        checks += 1
        let verify = try ctl(["verify", "--state-dir", state])
        check(verify.status == 0, "\(part): verify failed: \(verify.stdout.suffix(300))")
        return kept
    }

    /// The n-th event of reporter r: a project registered for a district, with a fixed id.
    static func event(reporter r: Int, _ n: Int) -> String {
        let districts = ["1703202", "1703203", "1706204", "1708201", "1710207", "1726262", "1735204"]
        let id = String(format: "00000000-0000-4000-8%03d-%012d", r, n)
        return #"{"id":"\#(id)","type":"project.registered","subject":"district:\#(districts[(r + n) % districts.count])","occurred_at":"2021-0\#(1 + n % 6)-1\#(n % 10)T10:00:00+05:00","source":"torture","data":{"project":"RP-T\#(r)-\#(n)","program":"regional","title":"Torture project \#(n)","due":"2021-12-31"}}"#
    }

    static func id(of line: String) -> String {
        String(line.dropFirst(7).prefix(36))
    }

    /// Acknowledgements collected by reporter threads.
    final class Acks: Sendable {
        let byID = Mutex<[String: Int]>([:])
        let disagreements = Mutex<[String]>([])
        let duplicates = Atomic<Int>(0)

        func record(_ id: String, _ reply: String) -> Bool {
            let parts = reply.split(separator: " ")
            guard parts.count == 2, parts[0] == "ok" || parts[0] == "duplicate", let seq = Int(parts[1]) else { return false }
            if parts[0] == "duplicate" { duplicates.add(1, ordering: .relaxed) }
            byID.withLock { acks in
                if let earlier = acks[id], earlier != seq {
                    disagreements.withLock { $0.append("\(id) acknowledged as seq \(earlier), then as \(seq)") }
                }
                acks[id] = seq
            }
            return true
        }
    }

    /// One reporter's turn while raqamd runs: sends `resend` (what it sent and never saw
    /// acknowledged) then new events, one at a time, until the connection ends or `stop`.
    /// Returns what is still unacknowledged, and the next new number.
    static func report(socketPath: String, reporter r: Int, resend: [Int], next: Int, acks: Acks, stop: borrowing Atomic<Bool>) -> (unacked: [Int], next: Int) {
        var queue = resend
        var n = next
        guard let socket = try? UnixSocket(connectingTo: socketPath) else { return (resend, next) }
        var reader = ReplyReader(socket: socket)
        while !stop.load(ordering: .relaxed) {
            let number: Int
            if let first = queue.first { number = first } else { number = n; n += 1; queue.append(number) }
            let line = event(reporter: r, number)
            guard (try? socket.send(Array((line + "\n").utf8))) != nil, let reply = reader.next() else { break }
            if acks.record(id(of: line), reply) { queue.removeFirst() } else { break }
        }
        return (queue, n)
    }
}

/// A small deterministic generator (SplitMix64) for the torture's choices.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

/// Runs a program to its end: status, standard output, standard error.
func runTool(_ path: String, _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    p.environment = ProcessInfo.processInfo.environment.merging(environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { a, _ in a }) { $1 }
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try p.run()
    let collected = Mutex<(Data, Data)>((Data(), Data()))
    let readers = [Thread { let d = out.fileHandleForReading.readDataToEndOfFile(); collected.withLock { $0.0 = d } },
                   Thread { let d = err.fileHandleForReading.readDataToEndOfFile(); collected.withLock { $0.1 = d } }]
    for t in readers { t.start() }
    if let stdin {
        try? input.fileHandleForWriting.write(contentsOf: Data(stdin))
        try? input.fileHandleForWriting.close()
    }
    p.waitUntilExit()
    while readers.contains(where: { !$0.isFinished }) { usleep(500) }
    let (o, e) = collected.withLock { $0 }
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
