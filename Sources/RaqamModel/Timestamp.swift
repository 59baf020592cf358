/// An instant as µs since the Unix epoch, with the UTC offset it was written with, so an
/// event comes back out as it went in (`2021-05-14T09:30:00+05:00`).
public struct Timestamp: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var micros: Int64
    /// The offset from UTC in minutes that the text carried (0 for `Z`).
    public var offsetMinutes: Int16

    public init(micros: Int64, offsetMinutes: Int16 = 0) {
        self.micros = micros
        self.offsetMinutes = offsetMinutes
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.micros < b.micros }
    public static func == (a: Timestamp, b: Timestamp) -> Bool { a.micros == b.micros && a.offsetMinutes == b.offsetMinutes }
    public func hash(into h: inout Hasher) { h.combine(micros); h.combine(offsetMinutes) }

    /// Parses RFC 3339 (`2021-05-14T09:30:00+05:00`, `2021-05-14T04:30:00.250Z`); nil when the
    /// text is not one. Lower-case `t`/`z` and a space for `T` are accepted, as RFC 3339 allows.
    public init?(rfc3339 text: some StringProtocol) {
        let b = Array(text.utf8)
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<from + count {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, let y = digits(0, 4), b[4] == 45, let mo = digits(5, 2), b[7] == 45, let d = digits(8, 2),
              [84, 116, 32].contains(b[10]), let h = digits(11, 2), b[13] == 58, let mi = digits(14, 2), b[16] == 58,
              let s = digits(17, 2) else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= Self.daysIn(month: mo, year: y), h < 24, mi < 60, s < 60 else { return nil }
        var i = 19
        var fraction = 0
        if i < b.count && b[i] == 46 {
            i += 1
            var n = 0
            while i < b.count && b[i] >= 48 && b[i] <= 57 {
                if n < 6 { fraction = fraction * 10 + Int(b[i] - 48) }
                n += 1
                i += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<max(n, 6) { fraction *= 10 }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            guard let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = digits(i + 4, 2), oh < 24, om < 60 else { return nil }
            offset = (oh * 60 + om) * (b[i] == 45 ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = Self.daysFromCivil(year: y, month: mo, day: d)
        let seconds = Int64(days) * 86_400 + Int64(h * 3600 + mi * 60 + s) - Int64(offset * 60)
        self.init(micros: seconds * 1_000_000 + Int64(fraction), offsetMinutes: Int16(offset))
    }

    /// RFC 3339 in the offset it carries, with microseconds only when there are any.
    public var rfc3339: String {
        let local = micros + Int64(offsetMinutes) * 60_000_000
        let (secs, us) = local.floorDivMod(1_000_000)
        let (days, sod) = secs.floorDivMod(86_400)
        let (y, m, d) = Self.civil(fromDays: Int(days))
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(Int(sod / 3600), 2)):\(pad(Int(sod % 3600 / 60), 2)):\(pad(Int(sod % 60), 2))"
        if us != 0 {
            var frac = pad(Int(us), 6)
            while frac.hasSuffix("0") { frac.removeLast() }
            out += "." + frac
        }
        if offsetMinutes == 0 { return out + "Z" }
        let o = abs(Int(offsetMinutes))
        return out + (offsetMinutes < 0 ? "-" : "+") + pad(o / 60, 2) + ":" + pad(o % 60, 2)
    }

    public var description: String { rfc3339 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// A calendar day (`2021-12-31`), as days since 1970-01-01.
///
/// Where a day must become an instant, raqam uses the programme's time zone, Tashkent
/// (UTC+05:00, no daylight saving): a day starts at 00:00 there.
public struct CalendarDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var days: Int32

    public init(days: Int32) { self.days = days }

    /// Tashkent's offset from UTC, in minutes and in µs.
    public static let tashkentOffsetMinutes: Int16 = 300
    static let tashkentOffsetMicros: Int64 = 5 * 3_600_000_000
    static let dayMicros: Int64 = 86_400_000_000

    /// The day an instant falls on in Tashkent.
    public init(tashkentDayOf t: Timestamp) {
        let (days, _) = (t.micros + Self.tashkentOffsetMicros).floorDivMod(Self.dayMicros)
        self.init(days: Int32(truncatingIfNeeded: days))
    }

    /// 00:00 of this day in Tashkent, as an instant written with its +05:00 offset.
    public var tashkentStart: Timestamp {
        Timestamp(micros: Int64(days) * Self.dayMicros - Self.tashkentOffsetMicros, offsetMinutes: Self.tashkentOffsetMinutes)
    }

    /// The last microsecond of this day in Tashkent.
    public var tashkentEnd: Timestamp {
        Timestamp(micros: tashkentStart.micros + Self.dayMicros - 1, offsetMinutes: Self.tashkentOffsetMinutes)
    }

    public init?(iso text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), d >= 1, d <= Timestamp.daysIn(month: m, year: y) else { return nil }
        days = Int32(Timestamp.daysFromCivil(year: y, month: m, day: d))
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool { a.days < b.days }

    /// The last day of the month `months` months after this day's (before it when negative):
    /// for 2021-06-15, `endOfMonth(adding: -1)` is 2021-05-31 and `endOfMonth(adding: 0)` 2021-06-30.
    public func endOfMonth(adding months: Int) -> CalendarDate {
        let (y, m, _) = Timestamp.civil(fromDays: Int(days))
        let index = y * 12 + (m - 1) + months + 1
        let (year, month) = Int64(index).floorDivMod(12)
        return CalendarDate(days: Int32(Timestamp.daysFromCivil(year: Int(year), month: Int(month) + 1, day: 1) - 1))
    }


    public var description: String {
        let (y, m, d) = Timestamp.civil(fromDays: Int(days))
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }
}

/// A reporting period: a year (`2021`), half (`2021-H1`), quarter (`2021-Q2`) or month (`2021-06`).
public enum Period {
    /// True when `text` is one of the period forms.
    public static func isValid(_ text: some StringProtocol) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let year = parts.first, year.count == 4, Int(year) != nil else { return false }
        if parts.count == 1 { return true }
        guard parts.count == 2 else { return false }
        switch parts[1] {
        case "H1", "H2", "Q1", "Q2", "Q3", "Q4": return true
        default: return parts[1].count == 2 && Int(parts[1]).map { (1...12).contains($0) } == true
        }
    }
}

func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

extension Int64 {
    func floorDivMod(_ d: Int64) -> (Int64, Int64) {
        let q = self / d, r = self % d
        return r < 0 ? (q - 1, r + d) : (q, r)
    }
}
