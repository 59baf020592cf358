import Foundation
import Testing

/// What a newcomer runs first: `make demo`'s script and the README's tour, as printed.
@Suite struct QuickstartTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func makeDemoStreamsTheScenarioIntoRaqamdAndShowsWhoLags() throws {
        let dir = StateDirectory()
        let r = try shell("scripts/demo.sh \(dir.path) \(buildDirectory.path)", in: root)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        // A progress line per month, each saying what fired.
        for month in ["2020-10", "2020-11", "2021-03", "2021-06"] {
            #expect(r.stdout.contains("  \(month) "), "no progress line for \(month)")
        }
        #expect(r.stdout.contains("alerts fired"))
        #expect(r.stdout.contains("      firing: "), "no alert shown as it fired")
        // The finding, grouped by region, and the nation against its targets.
        #expect(r.stdout.contains("65 organizations, 116 districts and cities, 0 regions, the nation"))
        #expect(r.stdout.contains("Andijan Region (region:1703): "))
        #expect(r.stdout.contains("targets.economy.services_volume_uzs.current   7200000000000"))
        #expect(r.stdout.contains("projects.regional.implemented                 1172"))
        // The alerts reached a real Alertmanager (make deps installs Debian's).
        let am = r.stdout.split(separator: "\n").first { $0.contains(" alerts firing there (amtool") }
        let count = am.flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") } ?? 0
        #expect(count > 0, "no alert shown in Alertmanager: \(am ?? "no line")")
        // Stopped cleanly, with the way back in.
        #expect(r.stdout.contains("raqamd stopped with SIGTERM (exit status 0)"))
        #expect(r.stdout.contains("export RAQAM_STATE_DIR=\(dir.path)/state"))
        #expect(FileManager.default.fileExists(atPath: dir.path + "/state/events"))
    }

    /// The README's tour lines: `export` and `raqamctl` commands, comments dropped.
    func tour() throws -> [String] {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "## A short tour"))
        let block = readme[section.upperBound...].components(separatedBy: "```sh\n")[1].components(separatedBy: "```")[0]
        return block.split(separator: "\n").compactMap { line in
            let command = line.components(separatedBy: "  #")[0].trimmingCharacters(in: .whitespaces)
            return command.hasPrefix("raqamctl ") || command.hasPrefix("export ") ? command : nil
        }
    }

    @Test func everyCommandOfTheReadmesTourWorksAsPrinted() throws {
        let dir = StateDirectory()
        // The tour's /tmp paths moved into this test's own directory.
        let commands = try tour().map { $0.replacingOccurrences(of: "/tmp/", with: dir.path + "/") }
        #expect(commands.count >= 15)
        var environment: [String: String] = [:]
        var outputs: [(command: String, stdout: String)] = []
        for command in commands {
            if command.hasPrefix("export ") {
                let assignment = command.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
                environment[String(assignment[0])] = String(assignment[1])
                continue
            }
            let r = try shell(command, in: root, environment: environment)
            #expect(r.status == 0, "\(command) exited \(r.status): \(r.stderr)")
            outputs.append((command, r.stdout))
        }
        let appends = outputs.filter { $0.command.hasPrefix("raqamctl append") }.map(\.stdout)
        #expect(appends.count == 2)
        #expect(appends.first?.contains("appended 7420 events") == true, "\(appends)")
        #expect(appends.last?.contains("appended 0 events") == true, "\(appends)")
        let lagging = outputs.first { $0.command == "raqamctl lagging --at 2021-06-30" }?.stdout
        #expect(lagging?.contains("65 organizations, 116 districts and cities") == true)
    }
}
