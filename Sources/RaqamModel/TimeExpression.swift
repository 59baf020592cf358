/// A time as a person types it on the command line, in the forms journalctl takes (see
/// systemd.time(7)), in Tashkent time unless an offset is given:
///
/// | form | means |
/// |---|---|
/// | `now` | the instant the command runs |
/// | `today`, `yesterday`, `tomorrow` | that day |
/// | `-1d`, `-2w`, `+3h`, `-1h30min`, `2 days ago` | now moved by that much (s, min, h, d, w, M = 30.44 d, y = 365.25 d) |
/// | `2021`, `2021-H1`, `2021-Q2`, `2021-06` | that year, half, quarter, month |
/// | `2021-06-30` | that day |
/// | `2021-06-30 12:00`, `2021-06-30T12:00:30` | that minute or second in Tashkent |
/// | `2021-06-30T12:00:00+05:00`, `…Z`, `2021-06-30 12:00 +03:00` | RFC 3339, the offset given |
///
/// A day, month, quarter, half or year is a span: an option that asks "by when" (`--at`,
/// `--until`, `--known-at`) takes its last microsecond, one that asks "from when" (`--since`)
/// its first. An instant is itself either way.
public struct TimeExpression: Sendable, Equatable, CustomStringConvertible {
    public enum Edge: Sendable { case start, end }

    enum Form: Equatable {
        case now
        /// Days from today (0 today, -1 yesterday).
        case dayOffset(Int)
        case relative(micros: Int64)
        /// A span of whole days [first, last], Tashkent days.
        case days(first: CalendarDate, last: CalendarDate)
        case instant(Timestamp)
    }

    let form: Form
    public let text: String

    public var description: String { text }

    /// Parses `text`; nil when it is none of the forms.
    public init?(_ text: String) {
        let t = String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        guard let form = Self.parse(t) else { return nil }
        self.form = form
        self.text = text
    }

    /// The instant meant, with `now` as the present and `edge` the end of a span to take.
    public func resolve(now: Timestamp, edge: Edge) -> Timestamp {
        func day(_ d: CalendarDate) -> Timestamp { edge == .start ? d.tashkentStart : d.tashkentEnd }
        switch form {
        case .now: return Timestamp(micros: now.micros, offsetMinutes: CalendarDate.tashkentOffsetMinutes)
        case .dayOffset(let n): return day(CalendarDate(days: CalendarDate(tashkentDayOf: now).days + Int32(n)))
        case .relative(let micros): return Timestamp(micros: now.micros + micros, offsetMinutes: CalendarDate.tashkentOffsetMinutes)
        case .days(let first, let last): return edge == .start ? first.tashkentStart : last.tashkentEnd
        case .instant(let t): return t
        }
    }

    /// What the forms are, for an error message.
    public static let forms = "now, today, yesterday, -1d, -2w, 2021, 2021-Q2, 2021-06, 2021-06-30, \"2021-06-30 12:00\" or an RFC 3339 time (2021-06-30T12:00:00+05:00)"

    // MARK: Parsing

    static func parse(_ t: String) -> Form? {
        switch t.lowercased() {
        case "now": return .now
        case "today": return .dayOffset(0)
        case "yesterday": return .dayOffset(-1)
        case "tomorrow": return .dayOffset(1)
        default: break
        }
        if let r = relative(t) { return .relative(micros: r) }
        if let span = period(t) { return span }
        if let d = CalendarDate(iso: t) { return .days(first: d, last: d) }
        if let i = instant(t) { return .instant(i) }
        return nil
    }

    /// `-1d`, `+3h`, `-1h30min`, `2 days ago`, `now-1d`: µs from now.
    static func relative(_ text: String) -> Int64? {
        var t = Substring(text)
        if t.lowercased().hasPrefix("now") { t = t.dropFirst(3) }
        let sign: Int64
        if t.hasSuffix(" ago") {
            t = t.dropLast(4)
            sign = -1
            if t.first == "-" || t.first == "+" { return nil }
        } else if t.first == "-" || t.first == "+" {
            sign = t.first == "-" ? -1 : 1
            t = t.dropFirst()
        } else {
            return nil
        }
        return duration(t.filter { $0 != " " }).map { sign * $0 }
    }

    /// `1d12h`, `90min`, `2weeks`, `3M`: µs. As in systemd.time(7), `M` is a month (30.44
    /// days) and `m` a minute.
    static func duration(_ t: String) -> Int64? {
        let units: [(names: [String], micros: Double)] = [
            (["usec", "us"], 1), (["msec", "ms"], 1e3), (["seconds", "second", "sec", "s"], 1e6),
            (["minutes", "minute", "min", "m"], 60e6), (["hours", "hour", "hr", "h"], 3600e6),
            (["days", "day", "d"], 86_400e6), (["weeks", "week", "w"], 7 * 86_400e6),
            (["months", "month"], 30.44 * 86_400e6), (["years", "year", "y"], 365.25 * 86_400e6),
        ]
        var total = 0.0
        var rest = Substring(t)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let n = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let word = String(rest.prefix { $0.isLetter })
            rest = rest.dropFirst(word.count)
            let micros: Double
            if word == "M" {
                micros = 30.44 * 86_400e6
            } else if let u = units.first(where: { $0.names.contains(word.lowercased()) }) {
                micros = u.micros
            } else {
                return nil
            }
            total += n * micros
        }
        guard total.isFinite, total < 1e17 else { return nil }
        return Int64(total.rounded())
    }

    /// `2021`, `2021-H1`, `2021-Q2`, `2021-06`: the span's first and last days.
    static func period(_ t: String) -> Form? {
        let parts = t.split(separator: "-", omittingEmptySubsequences: false)
        guard let y = parts.first, y.count == 4, let year = Int(y), (1970...9999).contains(year) else { return nil }
        func span(_ firstMonth: Int, _ months: Int) -> Form {
            let first = CalendarDate(days: Int32(Timestamp.daysFromCivil(year: year, month: firstMonth, day: 1)))
            return .days(first: first, last: first.endOfMonth(adding: months - 1))
        }
        if parts.count == 1 { return span(1, 12) }
        guard parts.count == 2 else { return nil }
        switch parts[1].uppercased() {
        case "H1": return span(1, 6)
        case "H2": return span(7, 6)
        case "Q1": return span(1, 3)
        case "Q2": return span(4, 3)
        case "Q3": return span(7, 3)
        case "Q4": return span(10, 3)
        default:
            guard parts[1].count == 2, let m = Int(parts[1]), (1...12).contains(m) else { return nil }
            return span(m, 1)
        }
    }

    /// RFC 3339 (offset or Z), or `2021-06-30 12:00[:30][.123]` / `2021-06-30T12:00…` with an
    /// optional offset (` +03:00`, `+03:00`, `Z`); Tashkent's when none.
    static func instant(_ text: String) -> Timestamp? {
        if let t = Timestamp(rfc3339: text) { return t }
        var t = String(text.map { $0 == "T" || $0 == "t" ? " " : $0 })
        guard t.count >= 16 else { return nil }
        // The offset, if any, at the end.
        var offset = "+05:00"
        if t.hasSuffix("Z") || t.hasSuffix("z") {
            offset = "Z"
            t.removeLast()
        } else if t.count >= 22 {
            let tail = String(t.suffix(6))
            if (tail.first == "+" || tail.first == "-"), tail.dropFirst().allSatisfy({ $0.isNumber || $0 == ":" }), tail.count == 6 {
                offset = tail
                t.removeLast(6)
            }
        }
        let pieces = t.split(separator: " ")
        guard pieces.count == 2, CalendarDate(iso: pieces[0]) != nil else { return nil }
        var clock = String(pieces[1])
        if clock.count == 5 { clock += ":00" }
        return Timestamp(rfc3339: "\(pieces[0])T\(clock)\(offset)")
    }
}
