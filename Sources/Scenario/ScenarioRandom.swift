/// The scenario's random numbers: SplitMix64, with bounded integers and unit doubles computed
/// here rather than by the standard library's `random(in:using:)`, whose algorithm is not
/// promised to stay the same between Swift releases: a seed must give the same events on every
/// toolchain.
struct ScenarioRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A whole number in `range` (multiply-high; the bias is below 2^-32 for our ranges).
    mutating func int(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next().multipliedFullWidth(by: width).high)
    }

    /// A number in [lower, upper).
    mutating func unit(_ lower: Double = 0, _ upper: Double = 1) -> Double {
        lower + (upper - lower) * Double(next() >> 11) / Double(UInt64(1) << 53)
    }

    mutating func chance(_ p: Double) -> Bool { unit() < p }

    mutating func element<T>(of items: [T]) -> T { items[int(in: 0...(items.count - 1))] }

    /// An index drawn with probability proportional to `weights`.
    mutating func index(weights: [Double]) -> Int {
        var x = unit(0, weights.reduce(0, +))
        for (i, w) in weights.enumerated() {
            if x < w { return i }
            x -= w
        }
        return weights.count - 1
    }

    /// `count` distinct indices of 0..<n (a partial Fisher-Yates shuffle).
    mutating func sample(_ count: Int, of n: Int) -> [Int] {
        var all = Array(0..<n)
        for i in 0..<count { all.swapAt(i, int(in: i...(n - 1))) }
        return Array(all.prefix(count))
    }
}
