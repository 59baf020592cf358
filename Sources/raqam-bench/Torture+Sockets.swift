import ArgumentParser
import Foundation
import Glibc
import RaqamControl
import RaqamSystem
import Synchronization

extension Torture {
    /// Over-long lines, stalled and silent connections beside a measured reporter, and a
    /// SIGHUP storm under load.
    mutating func socketAbuse(stalled: Int) throws {
        print("sockets: over-long lines, \(stalled) stalled connections, SIGHUP storms")
        let state = try freshState("sockets")
        let d = try RunningDaemon(binDir: binDir, state: state, rules: rules)
        var before = try stored(state).count

        // Ten lines of 1 MB whose tails are valid events, then a good line.
        let socket = try UnixSocket(connectingTo: d.socketPath)
        var payload: [UInt8] = []
        for i in 0..<10 { payload += [UInt8](repeating: 0x61, count: 1 << 20) + Array((Self.event(reporter: 903, i) + "\n").utf8) }
        payload += Array((Self.event(reporter: 903, 99) + "\nstatus\n").utf8)
        let sent = payload
        Thread { try? socket.send(sent) }.start()
        var reader = ReplyReader(socket: socket)
        var replies: [String] = []
        while replies.count < 12, let r = reader.next() { replies.append(r) }
        let errors = replies.prefix(10).filter { $0.contains("the line has more than 65536 bytes") }.count
        check(errors == 10 && replies.count == 12 && replies[10].hasPrefix("ok "), "sockets: long lines were answered \(replies.map { $0.prefix(60) })")
        before += 1
        check(try stored(state).count == before, "sockets: a long line's tail was stored")
        figure("1 MB lines answered with exactly one error each", "\(errors) of 10")

        // A reporter's ack latency, alone and beside stalled connections.
        func acks(_ range: Range<Int>) throws -> [Double] {
            let c = try UnixSocket(connectingTo: d.socketPath)
            var r = ReplyReader(socket: c)
            var times: [Double] = []
            for i in range {
                let t0 = now()
                try c.send(Array((Self.event(reporter: 904, i) + "\n").utf8))
                guard let reply = r.next(), reply.hasPrefix("ok ") else { throw ValidationError("sockets: the measured reporter was not answered") }
                times.append(now() - t0)
            }
            return times.sorted()
        }
        let quiet = try acks(0..<300)
        var held: [UnixSocket] = []
        for i in 0..<stalled {
            guard let c = try? UnixSocket(connectingTo: d.socketPath) else { check(false, "sockets: connection \(i) refused"); break }
            if i % 2 == 0 { try? c.send(Array(#"{"type":"portal.updated","subject":"#.utf8)) }
            held.append(c)
        }
        let loaded = try acks(300..<600)
        func p(_ v: [Double], _ q: Double) -> Double { v[min(v.count - 1, Int(Double(v.count) * q))] * 1000 }
        figure("ack p50 / p99, alone", String(format: "%.2f / %.2f ms", p(quiet, 0.5), p(quiet, 0.99)))
        figure("ack p50 / p99 beside \(held.count) stalled connections", String(format: "%.2f / %.2f ms (p50 ×%.2f)", p(loaded, 0.5), p(loaded, 0.99), p(loaded, 0.5) / p(quiet, 0.5)))
        check(loaded.last! < 1.0, "sockets: an ack took \(loaded.last!) s beside stalled connections")
        held.removeAll()

        // SIGHUP storm while reporters append.
        let acks = Acks()
        var group = Reporters(count: 4, firstNumber: 200)
        group.round(socketPath: d.socketPath, acks: acks) {
            for _ in 0..<50 {
                kill(d.pid, SIGHUP)
                usleep(40_000)
            }
        }
        check(d.process.isRunning, "sockets: raqamd died in the SIGHUP storm")
        let status = try? Control.exchange(d.socketPath, "status")
        check(status?.contains("\"position\"") == true, "sockets: raqamd does not answer after the SIGHUP storm: \(status ?? "nothing")")
        d.stop()
        check(d.process.terminationStatus == 0, "sockets: raqamd's stop after the storm exited \(d.process.terminationStatus)")
        let acknowledged = acks.byID.withLock { $0 }
        let kept = try checkAcknowledged(state, acknowledged, part: "sockets")
        figure("SIGHUPs under load; acks kept", "50; \(kept) of \(acknowledged.count)")
    }
}
