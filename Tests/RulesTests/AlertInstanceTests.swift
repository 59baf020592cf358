import Testing
import Rules

@Suite struct AlertInstanceTests {
    static let day: Int64 = 86_400_000_000

    /// Runs (day, holds) evaluations and returns "day:transition" for each change.
    func run(_ steps: [(Int64, Bool)], holdFor: Int64, keep: Int64 = 0) -> (String, AlertInstance) {
        var a = AlertInstance()
        var log: [String] = []
        for (d, holds) in steps {
            if let t = a.evaluate(holds: holds, at: d * Self.day, holdFor: holdFor * Self.day, keepFiringFor: keep * Self.day) {
                log.append("\(d):\(t.rawValue)")
            }
        }
        return (log.joined(separator: " "), a)
    }

    @Test(arguments: [
        // name, evaluations (day, condition holds), for (days), keep_firing_for (days), expected transitions
        ("fires at once without for", [(1, true), (2, true)], 0, 0, "1:firing"),
        ("pending until for has passed", [(1, true), (5, true), (14, true), (15, true)], 14, 0, "1:pending 15:firing"),
        ("abandoned when it stops before for", [(1, true), (10, false), (20, true)], 14, 0, "1:pending 10:abandoned 20:pending"),
        ("resolves when it stops holding", [(1, true), (2, false), (3, false)], 0, 0, "1:firing 2:resolved"),
        ("fires again after resolving", [(1, true), (2, false), (5, true)], 0, 0, "1:firing 2:resolved 5:firing"),
        ("keep_firing_for rides out a flap", [(1, true), (2, false), (3, true), (4, false), (5, false), (8, false)], 0, 3, "1:firing 8:resolved"),
        ("a flapping condition without keep_firing_for", [(1, true), (2, false), (3, true), (4, false)], 0, 0, "1:firing 2:resolved 3:firing 4:resolved"),
        ("a flap during pending restarts the wait", [(1, true), (7, false), (8, true), (21, true), (22, true)], 14, 0, "1:pending 7:abandoned 8:pending 22:firing"),
        ("never holds: nothing to report", [(1, false), (2, false)], 14, 7, ""),
    ] as [(String, [(Int64, Bool)], Int64, Int64, String)])
    func lifecycleOverTime(name: String, steps: [(Int64, Bool)], holdFor: Int64, keep: Int64, expected: String) {
        #expect(run(steps, holdFor: holdFor, keep: keep).0 == expected, "\(name)")
    }

    @Test func activeSinceIsWhenTheConditionWasFirstSeenInThisEpisode() {
        let (_, a) = run([(1, true), (15, true), (20, true)], holdFor: 14)
        #expect(a.state == .firing)
        #expect(a.activeSince == 1 * Self.day)
        #expect(a.firedAt == 15 * Self.day)
        let (_, b) = run([(1, true), (2, false), (5, true)], holdFor: 0)
        #expect(b.activeSince == 5 * Self.day)
    }

    @Test func aRestoredInstanceGoesOnWithoutRepeatingItsTransition() {
        var a = AlertInstance(state: .firing, activeSince: 1 * Self.day, lastHeld: 30 * Self.day, firedAt: 15 * Self.day, resolvedAt: nil)
        #expect(a.evaluate(holds: true, at: 31 * Self.day, holdFor: 14 * Self.day, keepFiringFor: 0) == nil)
        #expect(a.evaluate(holds: false, at: 32 * Self.day, holdFor: 14 * Self.day, keepFiringFor: 0) == .resolved)
    }
}
