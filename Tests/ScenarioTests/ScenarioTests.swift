import RaqamModel
import Scenario
import Testing

@Suite struct ScenarioTests {
    /// The events as `raqamctl demo` writes them.
    func lines(_ s: H1Scenario) -> [String] { s.events.map { EventJSON.line($0) } }

    @Test func theSameSeedWritesTheSameBytes() {
        #expect(lines(H1Scenario(seed: 2021)) == lines(H1Scenario(seed: 2021)))
        #expect(lines(H1Scenario(seed: 7)) == lines(H1Scenario(seed: 7)))
    }

    @Test func anotherSeedWritesAnotherScenario() {
        let a = H1Scenario(seed: 1), b = H1Scenario(seed: 2)
        #expect(lines(a) != lines(b))
        #expect(Set(a.lagging.keys) != Set(b.lagging.keys))
    }

    /// The report's figures, counted from the events themselves.
    /// Seed 789 drew more completion laggards in one region than its implemented projects
    /// allow, and trapped; such a draw is now drawn again (docs/scenario.md).
    @Test(arguments: [H1Scenario.defaultSeed, 789] + Array(0 as UInt64 ..< 48))
    func everySeedCarriesTheFiguresOfTheReport(seed: UInt64) {
        let s = H1Scenario(seed: seed), f = s.figures
        var program: [String: String] = [:]
        var planned: [String: Int] = [:], implemented: [String: Int] = [:], channels: [String: Int] = [:]
        var economy: Double?, export: Double?, targets: [String: Double] = [:]
        for e in s.events {
            switch e.type {
            case .projectRegistered:
                let p = e[field: "project"]!.string!, g = e[field: "program"]!.string!
                program[p] = g
                planned[g, default: 0] += 1
            case .projectImplemented: implemented[program[e[field: "project"]!.string!]!, default: 0] += 1
            case .serviceLaunched: channels[e[field: "channel"]!.string!, default: 0] += 1
            case .economyReported: economy = e[field: "services_volume_uzs"]?.number
            case .exportReported: export = e[field: "software_usd"]?.number
            case .targetSet: targets[e[field: "metric"]!.string!] = e[field: "value"]?.number
            default: break
            }
        }
        #expect(planned == ["sector": 443, "regional": 1_643])
        #expect(implemented == ["sector": 194, "regional": 1_172])
        #expect(channels["portal"] == 253)
        #expect(economy == 7.2e12 && export == 17.5e6)
        #expect(targets == ["economy.services_volume_uzs": 16e12, "export.software_usd": 40e6, "services.mobile": 100])
        #expect(s.lagging.keys.filter { $0.kind == .org }.count == f.laggingOrganizations)
        #expect(s.lagging.keys.filter { $0.kind == .district }.count == f.laggingDistricts)
    }

    @Test func eventsRunFromTheDecreeToTheEndOfJuneInOrderWithDistinctIDs() {
        let s = H1Scenario()
        let days = s.events.map { CalendarDate(tashkentDayOf: $0.occurredAt) }
        #expect(days.first == s.figures.start && days.last == s.figures.end)
        #expect(zip(s.events, s.events.dropFirst()).allSatisfy { $0.occurredAt.micros <= $1.occurredAt.micros })
        #expect(Set(s.events.compactMap(\.id)).count == s.events.count)
        let subjects = Set(s.events.map(\.subject))
        #expect(subjects.count == 317, "14 regions, 208 districts and cities, 94 bodies and the nation")
    }

    @Test func registrationsAreThoseOfInitSoBothStoreThemOnce() {
        let effective = H1Scenario().figures.start.tashkentStart
        let fromInit = ReferenceData.bundled.registrationEvents(effective: effective)
        #expect(Array(H1Scenario().events.filter { $0.type == .entityRegistered }) == fromInit)
    }
}
