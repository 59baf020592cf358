import Projections
import RaqamModel

/// How the web view writes numbers, amounts and times, per language.
enum WebFormat {
    /// A whole count with grouped thousands: 1,643 (English), 1 643 (Oʻzbek, Русский).
    static func count(_ x: Double, _ lang: WebLanguage) -> String {
        guard x.isFinite else { return "—" }
        let negative = x < 0
        var digits = String(Int64(abs(x).rounded()))
        var groups: [String] = []
        while digits.count > 3 {
            groups.insert(String(digits.suffix(3)), at: 0)
            digits = String(digits.dropLast(3))
        }
        groups.insert(digits, at: 0)
        return (negative ? "-" : "") + groups.joined(separator: lang == .en ? "," : "\u{00A0}")
    }

    /// A large amount in words: 7.2 trillion sums, 17.5 million USD (a decimal comma in
    /// Oʻzbek and Русский).
    static func amount(_ x: Double, unit: String, _ lang: WebLanguage) -> String {
        let scales: [(Double, String)] = [(1e12, "trillion"), (1e9, "billion"), (1e6, "million")]
        for (scale, word) in scales where abs(x) >= scale {
            return decimal(x / scale, lang) + " " + lang.word(word) + " " + lang.word(unit)
        }
        return count(x, lang) + " " + lang.word(unit)
    }

    /// At most one decimal, none when whole: 7.2, 16, 17.5.
    static func decimal(_ x: Double, _ lang: WebLanguage) -> String {
        let tenths = (x * 10).rounded()
        let text = tenths.truncatingRemainder(dividingBy: 10) == 0 ? String(Int64(tenths / 10)) : String(format: "%.1f", tenths / 10)
        return lang == .en ? text : text.replacingOccurrences(of: ".", with: ",")
    }

    /// A ratio as a whole percentage: 0.4375 → 44%.
    static func percent(_ x: Double) -> String { x.isFinite ? "\(Int64((x * 100).rounded()))%" : "—" }

    /// A value as `raqamctl show` prints it (0.9166, 2021-03-01T10:00:00+05:00, yes).
    static func plain(_ v: MetricValue) -> String {
        if case .time(let t) = v { return Timestamp(micros: t.micros, offsetMinutes: CalendarDate.tashkentOffsetMinutes).rfc3339 }
        return v.description
    }

    /// A time as its day and minute in Tashkent: 2021-06-30 23:59.
    static func minute(_ micros: Int64) -> String {
        let text = Timestamp(micros: micros, offsetMinutes: CalendarDate.tashkentOffsetMinutes).rfc3339
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(5))
    }

    /// A day in Tashkent: 2021-06-30.
    static func day(_ micros: Int64) -> String { CalendarDate(tashkentDayOf: Timestamp(micros: micros)).description }

    static func number(_ v: MetricValue?) -> Double? {
        if case .number(let x)? = v { return x }
        return nil
    }
}
