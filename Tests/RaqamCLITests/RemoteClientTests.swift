import Foundation
import Glibc
import RaqamTestSupport
import Testing

/// raqamctl as a reporting body's client: `--server` and `--token-file`, the same messages and
/// exit codes as a local append, and reads that print what the local commands print.
@Suite struct RemoteClientTests {
    func tokenFile(_ d: HTTPDaemon, _ subject: String, role: String = "report") throws -> String {
        let path = d.state + "/\(subject.replacingOccurrences(of: ":", with: "-"))-\(role).token"
        try (try d.token(subject, role: role) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aRemoteAppendSaysWhatALocalAppendSaysAndSavesAReceipt() throws {
        let d = try HTTPDaemon()
        let token = try tokenFile(d, "region:1703")
        let remote = ["--server", d.base, "--token-file", token]
        let good = d.state + "/good.ndjson"
        try ((1...4).map { trainingEvent($0 % 2 == 0 ? "district:1703202" : "region:1703", day: $0) }.joined(separator: "\n") + "\n")
            .write(toFile: good, atomically: true, encoding: .utf8)
        let receipt = d.state + "/receipt.json"
        let sent = try run("raqamctl", ["append", good, "--receipt", receipt] + remote)
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout.hasPrefix("appended 4 events (seq 317…320)"), "\(sent.stdout)")
        #expect(try run("raqamctl", ["verify", "--state-dir", d.state, "--receipt", receipt]).status == 0)
        let again = try run("raqamctl", ["append", good] + remote)
        #expect(again.status == 0 && again.stdout.contains("appended 0 events; 4 events already stored"), "\(again.stdout)")

        // A bad line: FILE:LINE: field: message on stderr, exit 65, nothing stored, as locally.
        let bad = d.state + "/bad.ndjson"
        try (trainingEvent("district:1703202", day: 9) + "\n" + #"{"type":"training.reported","subject":"district:1703202","occurred_at":"2021-05-02","data":{"staff":10,"trained":1}}"# + "\n")
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try run("raqamctl", ["append", bad] + remote)
        let local = try run("raqamctl", ["append", bad, "--state-dir", d.state, "--socket", d.daemon.socketPath])
        #expect(refused.status == 65 && local.status == 65)
        #expect(refused.stderr.contains("\(bad):2: occurred_at:"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").first == local.stderr.split(separator: "\n").first, "remote: \(refused.stderr) local: \(local.stderr)")
        // Outside the token's scope: 65 with the reason; nothing stored.
        let other = d.state + "/other.ndjson"
        try (trainingEvent("district:1706204") + "\n").write(toFile: other, atomically: true, encoding: .utf8)
        let forbidden = try run("raqamctl", ["append", other] + remote)
        #expect(forbidden.status == 65 && forbidden.stderr.contains("may report only about region:1703"), "\(forbidden.stderr)")
        #expect(try d.events().filter { ($0["type"] as? String) == "training.reported" }.count == 4)
        // A token the server does not know: 77; no server: 74.
        try "rq_\(String(repeating: "x", count: 43))\n".write(toFile: d.state + "/wrong.token", atomically: true, encoding: .utf8)
        #expect(try run("raqamctl", ["append", good, "--server", d.base, "--token-file", d.state + "/wrong.token"]).status == 77)
        #expect(try run("raqamctl", ["append", good, "--server", "http://127.0.0.1:\(freePort())", "--token-file", token]).status == 74)
        #expect(d.stop() == 0)
    }

    @Test func remoteReadsPrintWhatTheLocalCommandsPrint() throws {
        let d = try HTTPDaemon()
        let reader = try tokenFile(d, "nation", role: "read")
        let remote = ["--server", d.base, "--token-file", reader]
        let local = ["--state-dir", d.state]
        let show = try run("raqamctl", ["show", "district:1703202", "--at", "2021-06-30", "-o", "json"] + remote)
        let showLocal = try run("raqamctl", ["show", "district:1703202", "--at", "2021-06-30", "-o", "json"] + local)
        #expect(show.status == 0 && show.stdout == showLocal.stdout, "\(show.stderr)")
        let status = try run("raqamctl", ["status"] + remote)
        #expect(status.status == 0 && status.stdout.contains("position") && status.stdout.contains("316"), "\(status.stdout)\(status.stderr)")
        let events = try run("raqamctl", ["events", "-o", "ndjson", "--type", "entity.registered"] + remote)
        let eventsLocal = try run("raqamctl", ["events", "-o", "ndjson", "--type", "entity.registered"] + local)
        #expect(events.status == 0 && events.stdout == eventsLocal.stdout)
        let lagging = try run("raqamctl", ["lagging", "-o", "json", "--scope", "district"] + remote)
        #expect(lagging.status == 0 && lagging.stdout.contains("DistrictSilent"), "\(lagging.stderr)")
        let alerts = try run("raqamctl", ["alerts", "--firing", "-o", "json"] + remote)
        let alertsLocal = try run("raqamctl", ["alerts", "--firing", "-o", "json"] + local)
        #expect(alerts.status == 0 && alerts.stdout.count > 10)
        #expect((try? JSONSerialization.jsonObject(with: Data(alerts.stdout.utf8)) as? [Any])?.count == (try? JSONSerialization.jsonObject(with: Data(alertsLocal.stdout.utf8)) as? [Any])?.count)
        // The same through the environment.
        let viaEnv = try run("raqamctl", ["status", "-o", "json"], environment: ["RAQAM_SERVER": d.base, "RAQAM_TOKEN_FILE": reader])
        #expect(viaEnv.status == 0 && viaEnv.stdout.contains("\"position\""))
        #expect(d.stop() == 0)
    }
}
