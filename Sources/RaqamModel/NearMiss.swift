/// "did you mean …?" for names people type: the nearest candidate by edit distance, when it
/// is near enough to be a slip (at most 2 edits, or a third of the word).
public enum NearMiss {
    /// `; did you mean "x"?` (with the given quote), or "" when no candidate is near.
    public static func suggestion(_ word: String, among candidates: [String], quote: Character) -> String {
        let best = candidates.map { ($0, distance(word, $0)) }.min { $0.1 < $1.1 }
        guard let (name, d) = best, d <= max(2, word.count / 3) else { return "" }
        return "; did you mean \(quote)\(name)\(quote)?"
    }

    /// Levenshtein distance between two strings, in characters.
    public static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev = Array(0...y.count), cur = prev
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count { cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)) }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }
}
