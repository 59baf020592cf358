import Foundation
import Testing

@Suite struct LaggingCommandTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A state dir on the events clock: Altinkul District with 5 projects (1 implemented) from
    /// 2021-02-01, the Ministry of Justice assessed "not organized" on 2021-05-20.
    func lagging() throws -> StateDirectory {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path, "--clock", "events"]).status == 0)
        var lines: [String] = []
        for i in 1...5 {
            lines.append(#"{"type":"project.registered","subject":"district:1703202","occurred_at":"2021-02-01T10:00:00+05:00","data":{"project":"RP-\#(i)","program":"regional","title":"t","due":"2021-12-31"}}"#)
        }
        lines.append(#"{"type":"project.implemented","subject":"district:1703202","occurred_at":"2021-03-01T10:00:00+05:00","data":{"project":"RP-1"}}"#)
        lines.append(#"{"type":"assessment.recorded","subject":"org:ministry-justice","occurred_at":"2021-05-20T10:00:00+05:00","data":{"organized":false,"score":41}}"#)
        let r = try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: Array((lines.joined(separator: "\n") + "\n").utf8))
        #expect(r.status == 0, "\(r.stderr)")
        return dir
    }

    @Test func laggingJSONListsEachFiringAlertWithRuleValueAndActiveSince() throws {
        let dir = try lagging()
        let r = try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml",
                                     "--rules", root.path + "/rules/organizations.yaml", "--at", "2021-06-30", "-o", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let alerts = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
        let regional = alerts.first { $0["rule"] as? String == "RegionalProjectsLagging" }
        #expect(regional?["subject"] as? String == "district:1703202")
        #expect(regional?["name"] as? String == "Altinkul District")
        #expect(regional?["scope"] as? String == "district")
        #expect(regional?["region"] as? String == "region:1703")
        #expect(regional?["severity"] as? String == "warning")
        #expect(regional?["state"] as? String == "firing")
        #expect(regional?["value"] as? Double == 0.2)
        #expect(regional?["active_since"] as? String == "2021-02-01T10:00:00+05:00")
        #expect(regional?["fired_at"] as? String == "2021-02-16T00:00:00+05:00")
        #expect(regional?["summary"] as? String == "Altinkul District: 1 of 5 projects implemented (20%)")
        let assessed = alerts.first { $0["rule"] as? String == "OrgDigitalizationNotOrganized" }
        #expect(assessed?["subject"] as? String == "org:ministry-justice")
        #expect(assessed?["value"] as? Bool == false)
        // Every district lacks a portal in this log, so HokimPortalMissing flags all 208.
        #expect(alerts.filter { $0["rule"] as? String == "HokimPortalMissing" }.count == 208)
    }

    @Test func alertsBeforeRaqamdEverRanIsAnEmptyListNotAnError() throws {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        for (arguments, expected) in [([String](), "0 alerts"), (["--firing"], "0 alerts"), (["--history"], "0 transitions"), (["-o", "json"], "[]")] {
            let r = try run("raqamctl", ["alerts", "--state-dir", dir.path] + arguments)
            #expect(r.status == 0, "\(arguments): \(r.stderr)")
            #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(expected), "\(arguments): \(r.stdout)")
            #expect(r.stderr.contains("raqamd has not run there"), "\(arguments): \(r.stderr)")
        }
        // No state directory at all is still an error that says so (EX_IOERR).
        let missing = try run("raqamctl", ["alerts", "--state-dir", dir.path + "/nowhere"])
        #expect(missing.status == 74 && missing.stderr.contains("no state directory"), "\(missing.stderr)")
    }

    @Test func timesAreTakenAsJournalctlTakesThemAndABadOneIsAUsageErrorOfItsSubcommand() throws {
        let dir = try lagging()
        let rules = root.path + "/rules/districts.yaml"
        func flagged(at: String) throws -> String {
            let r = try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", rules, "--at", at, "-o", "json"])
            #expect(r.status == 0, "\(at): \(r.stderr)")
            return r.stdout
        }
        // A quarter, a half, a month and a day end at the same instant; a local time without an offset is Tashkent's.
        let june = try flagged(at: "2021-06-30")
        for same in ["2021-Q2", "2021-H1", "2021-06", "2021-06-30T23:59:59.999999+05:00", "2021-06-30 23:59:59.999999"] {
            #expect(try flagged(at: same) == june, "\(same)")
        }
        #expect(try flagged(at: "2021-06-30 12:00") == flagged(at: "2021-06-30T07:00:00Z"))
        // --since a month is its first day on.
        let byMonth = try run("raqamctl", ["events", "--state-dir", dir.path, "--since", "2021-03", "-o", "ndjson"])
        let byDay = try run("raqamctl", ["events", "--state-dir", dir.path, "--since", "2021-03-01", "-o", "ndjson"])
        #expect(byMonth.status == 0 && byMonth.stdout == byDay.stdout && !byDay.stdout.isEmpty, "\(byMonth.stderr)")
        // A relative time and now parse (their answer depends on today).
        for relative in ["now", "-1d", "yesterday", "2 weeks ago"] {
            #expect(try run("raqamctl", ["events", "--state-dir", dir.path, "--since", relative]).status == 0, "\(relative)")
        }
        // Not a time: exit 64 (EX_USAGE), naming the option and the forms, with lagging's usage.
        let bad = try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", rules, "--at", "soon"])
        #expect(bad.status == 64, "\(bad.status)")
        #expect(bad.stderr.contains("--at") && bad.stderr.contains("\"soon\" is not a time") && bad.stderr.contains("2021-Q2"), "\(bad.stderr)")
        #expect(bad.stderr.contains("Usage: raqamctl lagging"), "the subcommand's usage: \(bad.stderr)")
    }

    @Test func initDoesNotChangeTheClockOfALogWithEventsUnlessForced() throws {
        let dir = try lagging()  // events clock, with events
        let refused = try run("raqamctl", ["init", "--state-dir", dir.path, "--clock", "wall"])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("holds events evaluated on the events clock") && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: dir.path + "/clock", encoding: .utf8).hasPrefix("events"), "nothing changed")
        // The same clock again is no change; --force changes it and says so.
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path, "--clock", "events"]).status == 0)
        let forced = try run("raqamctl", ["init", "--state-dir", dir.path, "--clock", "wall", "--force"])
        #expect(forced.status == 0 && forced.stderr.contains("changed from events to wall"), "\(forced.stderr)")
        #expect(try String(contentsOfFile: dir.path + "/clock", encoding: .utf8).hasPrefix("wall"))
        // A new state directory takes any clock.
        let fresh = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", fresh.path, "--clock", "events"]).status == 0)
    }

    @Test func laggingTableGroupsByRegionAndScopeFilters() throws {
        let dir = try lagging()
        let r = try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml",
                                     "--at", "2021-06-30", "--scope", "district"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Andijan Region (region:1703): 16 flagged\n"))
        #expect(r.stdout.contains("district:1703202  RegionalProjectsLagging"))
        #expect(r.stdout.contains("Altinkul District: 1 of 5 projects implemented (20%)"))
        #expect(!r.stdout.contains("org:"))
        #expect(r.stdout.hasSuffix("0 organizations, 208 districts and cities, 0 regions (at 2021-06-30T23:59:59.999999+05:00, events clock)\n"))
    }

    @Test func beforeForHasPassedAnAlertIsPendingNotFiring() throws {
        let dir = try lagging()
        let args = ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml", "--at", "2021-02-10", "--scope", "district", "-o", "ndjson"]
        let firing = try run("raqamctl", args)
        #expect(!firing.stdout.contains("RegionalProjectsLagging"))
        let pending = try run("raqamctl", args + ["--pending"])
        #expect(pending.stdout.contains(#""rule":"RegionalProjectsLagging","subject":"district:1703202""#))
        #expect(pending.stdout.contains(#""state":"pending""#))
        // The table's footer counts the pending alerts it lists beside the firing ones.
        let table = try run("raqamctl", Array(args.dropLast(2)) + ["--pending"])
        let listed = table.stdout.split(separator: "\n").filter { $0.contains(" (pending) ") }.count
        let firingRows = table.stdout.split(separator: "\n").filter { $0.hasPrefix("  district:") && !$0.contains(" (pending) ") }.count
        #expect(listed >= 1 && table.stdout.contains("\(firingRows) alerts firing and \(listed) pending: "), "\(table.stdout.suffix(300))")
    }

    @Test func theWallClockCountsEventsFromWhenTheyWereRecorded() throws {
        let dir = try lagging()
        let r = try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml", "--at", "2021-06-30", "--clock", "wall"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("no event counts by 2021-06-30T23:59:59.999999+05:00 on the wall clock; --clock events evaluates events from when they occurred"))
        #expect(r.stdout.hasPrefix("0 alerts firing"))
    }

    @Test func aBrokenRuleSetIsRefusedWithItsProblems() throws {
        let dir = try lagging()
        let file = dir.path + "/bad.yaml"
        try "groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: projects.complete < 1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", file])
        #expect(r.status == 65)
        #expect(r.stderr.contains("\(file):6:15: unknown metric 'projects.complete'; did you mean 'projects.completion'?"))
    }

    @Test func theBundledRuleTestsPass() throws {
        let tests = try FileManager.default.contentsOfDirectory(atPath: root.path + "/rules/tests").filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(tests.count == 4)
        let r = try run("raqamctl", ["rules", "test"] + tests.map { root.path + "/rules/tests/" + $0 })
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.hasSuffix("24 passed, 0 failed\n"))
    }

    @Test func everyBundledRuleIsCoveredByARuleTest() throws {
        let rules = try FileManager.default.contentsOfDirectory(atPath: root.path + "/rules").filter { $0.hasSuffix(".yaml") }
        let names = try rules.flatMap { f in
            try String(contentsOfFile: root.path + "/rules/" + f, encoding: .utf8).split(separator: "\n")
                .compactMap { $0.trimmingCharacters(in: .whitespaces).hasPrefix("- alert: ") ? $0.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } : nil }
        }
        #expect(names.count == 20)
        let tests = try FileManager.default.contentsOfDirectory(atPath: root.path + "/rules/tests").filter { $0.hasSuffix(".yaml") }
            .map { try String(contentsOfFile: root.path + "/rules/tests/" + $0, encoding: .utf8) }.joined()
        for name in names { #expect(tests.contains("alert: \(name)"), "no rule test names \(name)") }
    }

    @Test func aFailingRuleTestPrintsAReadableDiffAndExitsOne() throws {
        let dir = StateDirectory()
        let file = dir.path + "/t.yaml"
        try """
            rule_files: [\(root.path)/rules/districts.yaml]
            tests:
              - name: wrong expectations
                reference_data: false
                events:
                  - {type: entity.registered, subject: "district:1703202", occurred_at: "2021-01-01T00:00:00+05:00", data: {kind: district, name: Altinkul District, parent: "region:1703"}}
                  - {type: assessment.recorded, subject: "district:1703202", occurred_at: "2021-05-20T10:00:00+05:00", data: {organized: false, score: 62}}
                expect:
                  - at: 2021-05-21
                    alert: DistrictDigitalizationNotOrganized
                    firing:
                      - {subject: "district:1703202", summary: "Altinkul District: fine"}
                      - {subject: "district:1703203"}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run("raqamctl", ["rules", "test", file])
        #expect(r.status == 1)
        #expect(r.stdout == """
            FAIL \(file):9: test "wrong expectations" at 2021-05-21 (DistrictDigitalizationNotOrganized):
              summary of DistrictDigitalizationNotOrganized district:1703202:
                expected: "Altinkul District: fine"
                got:      "Altinkul District: digitalization not organized at the proper level (score 62)"
              missing firing    DistrictDigitalizationNotOrganized district:1703203
            FAIL \(file): 0 of 1 test passed
            0 passed, 1 failed

            """)
    }

    @Test func rulesCheckFailsOnALint() throws {
        let dir = StateDirectory()
        let file = dir.path + "/l.yaml"
        try "groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: projects.completion > 2\n        summary: \"{{ name }}\"\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run("raqamctl", ["rules", "check", file])
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("\(file):6:15: lint: A can never fire: its condition is false for every possible value of its metrics"))
    }

    /// A state directory's clock file that names neither clock stops both readers of it: a typo
    /// must not silently become the wall clock.
    @Test func aClockFileNamingNoClockIsRefusedByLaggingAndByRaqamd() throws {
        let dir = try lagging()
        try "sundial\n".write(toFile: dir.path + "/clock", atomically: true, encoding: .utf8)
        let l = try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml"])
        #expect(l.status == 65)
        #expect(l.stderr.contains("/clock:1:1: 'sundial' is not a clock; expected wall or events"), "\(l.stderr)")
        // Flags still choose: the file is read only when no clock is given.
        #expect(try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml", "--clock", "events"]).status == 0)
        let d = try run("raqamd", ["--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml", "--socket", dir.path + "/raqamd.sock", "--http-listen", ""])
        #expect(d.status == 78, "\(d.stderr)")
    }
}
