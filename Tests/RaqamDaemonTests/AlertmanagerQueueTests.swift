import RaqamDaemon
import Foundation
import Testing

/// The queue of alerts waiting for one Alertmanager: bounded, newest of an alert wins, a
/// failed batch goes back to the front, what is dropped is counted.
@Suite struct AlertmanagerQueueTests {
    static func alert(_ subject: String, summary: String = "s") -> AlertmanagerAlert {
        AlertmanagerAlert(labels: ["alertname": "A", "subject": subject], annotations: ["summary": summary], startsAt: 1, endsAt: 2, generatorURL: nil)
    }

    @Test func anAlertOfferedAgainReplacesTheWaitingOneInPlace() {
        var q = AlertmanagerQueue(capacity: 10)
        q.offer([Self.alert("d:1"), Self.alert("d:2")])
        q.offer([Self.alert("d:1", summary: "newer")])
        #expect(q.count == 2)
        let batch = q.take(10)
        #expect(batch.map { $0.labels["subject"] } == ["d:1", "d:2"])
        #expect(batch.first?.annotations["summary"] == "newer")
    }

    @Test func beyondCapacityTheOldestAreDroppedAndCounted() {
        var q = AlertmanagerQueue(capacity: 3)
        let dropped = q.offer((1...5).map { Self.alert("d:\($0)") })
        #expect(dropped == 2 && q.dropped == 2)
        #expect(q.take(10).map { $0.labels["subject"] } == ["d:3", "d:4", "d:5"])
    }

    @Test func aFailedBatchGoesBackToTheFrontUnlessANewerCopyCameMeanwhile() {
        var q = AlertmanagerQueue(capacity: 10)
        q.offer([Self.alert("d:1"), Self.alert("d:2"), Self.alert("d:3")])
        let batch = q.take(2)
        q.offer([Self.alert("d:2", summary: "newer"), Self.alert("d:4")])
        q.putBack(batch)
        let all = q.take(10)
        #expect(all.map { $0.labels["subject"] } == ["d:1", "d:3", "d:2", "d:4"])
        #expect(all[2].annotations["summary"] == "newer")
    }
}

/// `alertmanager:` in raqamd.yaml: each key read, each mistake named with its place.
@Suite struct AlertmanagerConfigurationTests {
    @Test func theKeysAreRead() throws {
        let c = try DaemonConfiguration.load(file: "raqamd.yaml", text: """
            alertmanager:
              urls: [http://am1:9093/, https://am2.example.uz:9093]
              resend_delay: 30s
              timeout: 5s
              queue_capacity: 500
              basic_auth: {username: raqam, password_file: /etc/raqam/am-password}
            http:
              external_url: https://raqam.example.uz/
            """)
        #expect(c.alertmanager.urls == ["http://am1:9093", "https://am2.example.uz:9093"])
        #expect(c.alertmanager.resendDelay == 30_000_000 && c.alertmanager.timeout == 5_000_000 && c.alertmanager.queueCapacity == 500)
        #expect(c.alertmanager.basicAuthUser == "raqam" && c.alertmanager.basicAuthPasswordFile == "/etc/raqam/am-password")
        #expect(c.http.linkBase == "https://raqam.example.uz")
    }

    @Test(arguments: [
        ("alertmanager:\n  urls: [am1:9093]", "raqamd.yaml:2:10: alertmanager.urls: 'am1:9093' is not an Alertmanager's base URL"),
        ("alertmanager:\n  resend_delay: soon", "raqamd.yaml:2:17: alertmanager.resend_delay must be a duration"),
        ("alertmanager:\n  resend: 1m", "raqamd.yaml:2:3: unknown key 'alertmanager.resend'"),
        ("alertmanager:\n  bearer_token_file: /t\n  basic_auth: {username: u, password_file: /p}", "bearer_token_file and basic_auth exclude each other"),
        // A YAML syntax error is placed where it is, not at 1:1.
        ("state_dir: /var/lib/raqam\nhttp:\n  listen: [127.0.0.1:8080\n", "raqamd.yaml:4:1: not valid YAML: "),
    ])
    func mistakesAreNamedWithTheirPlace(text: String, expected: String) {
        #expect(throws: DaemonConfiguration.Problem.self) { try DaemonConfiguration.load(file: "raqamd.yaml", text: text) }
        do { _ = try DaemonConfiguration.load(file: "raqamd.yaml", text: text) } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }
}
