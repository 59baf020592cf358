import Testing
@testable import Projections
import RaqamTestSupport

@Suite struct LatenessWindowTests {
    /// The median the window must give: of the samples that occurred in (now − 90 d, now].
    func naiveMedian(_ samples: [(Int64, Int64)], now: Int64) -> Double? {
        let inside = samples.filter { $0.0 > now - LatenessWindow.length && $0.0 <= now }.map(\.1).sorted()
        guard !inside.isEmpty else { return nil }
        let n = inside.count
        return n % 2 == 1 ? Double(inside[n / 2]) : Double(inside[n / 2 - 1] + inside[n / 2]) / 2
    }

    @Test(arguments: [UInt64(1), 2, 3, 4])
    func medianMatchesASortOfTheWindowWhateverTheOrderOfArrival(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let day: Int64 = 86_400_000_000
        var window = LatenessWindow()
        var kept: [(Int64, Int64)] = []
        var maxOccurred: Int64 = 0
        for n in 0..<6_000 {
            // Mostly in order, some late by up to 40 days; few distinct lateness values, so duplicates abound.
            let occurred = max(0, maxOccurred + Int64.random(in: -40 * day...day / 2, using: &rng))
            let seconds = Int64.random(in: 0...(n % 3 == 0 ? 5 : 100_000), using: &rng)
            maxOccurred = max(maxOccurred, occurred)
            let horizon = maxOccurred - LatenessWindow.length
            window.expire(through: horizon)
            window.insert(occurred: occurred, seconds: seconds)
            if occurred > horizon { kept.append((occurred, seconds)) }
            kept.removeAll { $0.0 <= horizon }
            if n % 97 == 0 {
                // At the latest occurrence, later (samples leave the window), and earlier (later samples excluded).
                for now in [maxOccurred, maxOccurred + Int64.random(in: 0...120 * day, using: &rng), maxOccurred - Int64.random(in: 0...20 * day, using: &rng)] {
                    #expect(window.median(now: now) == naiveMedian(kept, now: now), "sample \(n), now \(now)")
                }
            }
        }
        #expect(window.count == kept.count)
        let rebuilt = LatenessWindow(samples: window.samples.map { $0 }, horizon: window.horizon)
        #expect(rebuilt.median(now: maxOccurred) == window.median(now: maxOccurred))
    }

    /// A roll-up's window made by merging its members' windows (a start-up from a snapshot)
    /// holds their samples past the horizon and gives the medians of one window fed them all.
    @Test(arguments: [UInt64(5), 6, 7])
    func aWindowMergedFromOthersAnswersAsOneFedEverySample(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let day: Int64 = 86_400_000_000
        var members = (0..<Int.random(in: 1...40, using: &rng)).map { _ in LatenessWindow() }
        var all: [(Int64, Int64)] = []
        for _ in 0..<8_000 {
            let occurred = Int64.random(in: 0...200 * day, using: &rng)
            let seconds = Int64.random(in: 0...50_000, using: &rng)
            let m = Int.random(in: members.indices, using: &rng)
            members[m].insert(occurred: occurred, seconds: seconds)
            all.append((occurred, seconds))
        }
        let horizon = 100 * day
        let merged = LatenessWindow(merging: members, horizon: horizon)
        let kept = all.filter { $0.0 > horizon }
        #expect(merged.count == kept.count)
        #expect(Array(merged.samples) == kept.map { LatenessWindow.Sample(occurred: $0.0, seconds: $0.1) }.sorted())
        for now in stride(from: 100 * day, through: 300 * day, by: Int64.Stride(7 * day)) {
            #expect(merged.median(now: now) == naiveMedian(kept, now: now))
        }
    }

    @Test func sortedBlocksKeepOrderAcrossSplitsAndRemovals() {
        var rng = SeededGenerator(seed: 9)
        var blocks = SortedBlocks()
        var reference: [Int64] = []
        for _ in 0..<20_000 {
            let v = Int64.random(in: -500...500, using: &rng)
            blocks.insert(v)
            reference.append(v)
            if Int.random(in: 0..<3, using: &rng) == 0 {
                let gone = reference.remove(at: Int.random(in: 0..<reference.count, using: &rng))
                blocks.remove(gone)
            }
        }
        reference.sort()
        #expect(blocks.count == reference.count)
        for k in stride(from: 0, to: reference.count, by: 37) { #expect(blocks.element(at: k) == reference[k]) }
        #expect(blocks.countAtMost(0) == reference.filter { $0 <= 0 }.count)
    }
}
