import Projections
import RaqamModel

/// Parses and type-checks an expression for a scope: every metric must exist for the scope,
/// operands must have the types their operators take, functions must exist.
///
/// Grammar, loosest first: `or`, `and`, `not`, comparison (`== != < <= > >=`, not chained),
/// `+ -`, `* /`, unary `-`, then primaries: numbers, strings, `true`/`false`, durations
/// (`30d`, `12h`, `15m`), `now`, metric names (`projects.completion`), calls, parentheses.
struct ExpressionParser {
    private enum Token: Equatable {
        case number(Double), string(String), duration(Int64), ident(String), op(String), lparen, rparen, comma, end
    }

    private struct Lexed {
        var token: Token
        var position: SourcePosition
        var text: String
    }

    private var tokens: [Lexed] = []
    private var index = 0
    private let scope: EntityKey.Kind

    /// Names a rule may use for this scope (metric catalog plus target metrics).
    static func metricType(_ name: String, scope: EntityKey.Kind) -> ValueType? {
        if let spec = MetricCatalog.spec(name), spec.scopes.contains(scope) {
            switch spec.kind {
            case .number: return .number
            case .flag: return .bool
            case .time: return .time
            }
        }
        if name.hasPrefix("targets.") {
            let rest = name.dropFirst("targets.".count)
            for metric in EventSchema.targetMetrics where rest.hasPrefix(metric + ".") {
                switch rest.dropFirst(metric.count + 1) {
                case "value", "current", "progress", "expected", "pace": return .number
                case "deadline": return .time
                default: return nil
                }
            }
        }
        return nil
    }

    static func names(for scope: EntityKey.Kind) -> [String] {
        MetricCatalog.specs.filter { $0.scopes.contains(scope) }.map(\.name)
    }

    init(_ text: String, scope: EntityKey.Kind) throws(ExpressionProblem) {
        self.scope = scope
        tokens = try Self.lex(text)
    }

    static func parse(_ text: String, scope: EntityKey.Kind) throws(ExpressionProblem) -> (Expression, ValueType) {
        var p = try ExpressionParser(text, scope: scope)
        let result = try p.or()
        guard case .end = p.tokens[p.index].token else {
            throw ExpressionProblem(position: p.tokens[p.index].position, message: "unexpected '\(p.tokens[p.index].text)' after a complete expression")
        }
        return result
    }

    // MARK: Lexing

    private static func lex(_ text: String) throws(ExpressionProblem) -> [Lexed] {
        let chars = Array(text)
        var out: [Lexed] = []
        var i = 0
        var pos = SourcePosition()
        func advance(_ n: Int = 1) {
            for _ in 0..<n {
                if chars[i] == "\n" { pos.line += 1; pos.column = 1 } else { pos.column += 1 }
                i += 1
            }
        }
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { advance(); continue }
            let start = pos
            if c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
                var j = i
                while j < chars.count, chars[j].isNumber || chars[j] == "." || chars[j] == "_" { j += 1 }
                let digits = String(chars[i..<j]).replacingOccurrences(of: "_", with: "")
                let unitStart = j
                while j < chars.count, chars[j].isLetter { j += 1 }
                let unit = String(chars[unitStart..<j])
                // A compound duration (1h30m): more digits right after the unit.
                var compound = false
                while !unit.isEmpty, j < chars.count, chars[j].isNumber {
                    compound = true
                    while j < chars.count, chars[j].isNumber || chars[j] == "." { j += 1 }
                    while j < chars.count, chars[j].isLetter { j += 1 }
                }
                if compound {
                    let text = String(chars[i..<j])
                    guard let micros = parseDuration(text) else {
                        throw ExpressionProblem(position: start, message: "'\(text)' is not a duration: a compound one has whole numbers with units from the largest down, each once (1h30m, 2d12h)")
                    }
                    out.append(Lexed(token: .duration(micros), position: start, text: text))
                    advance(j - i)
                    continue
                }
                guard let value = Double(digits) else {
                    throw ExpressionProblem(position: start, message: "'\(String(chars[i..<j]))' is not a number")
                }
                if unit.isEmpty {
                    out.append(Lexed(token: .number(value), position: start, text: digits))
                } else {
                    guard DurationUnit.scales[unit] != nil else {
                        throw ExpressionProblem(position: start, message: "unknown duration unit '\(unit)' in '\(String(chars[i..<j]))'; use ms, s, m, h, d, w or y")
                    }
                    guard let micros = DurationUnit.micros(value, unit: unit) else {
                        throw ExpressionProblem(position: start, message: "duration '\(String(chars[i..<j]))' is too long; at most 36500d (100 years)")
                    }
                    out.append(Lexed(token: .duration(micros), position: start, text: String(chars[i..<j])))
                }
                advance(j - i)
                continue
            }
            if c.isLetter || c == "_" {
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" || chars[j] == "." { j += 1 }
                let word = String(chars[i..<j])
                out.append(Lexed(token: .ident(word), position: start, text: word))
                advance(j - i)
                continue
            }
            if c == "\"" || c == "'" {
                var j = i + 1
                while j < chars.count, chars[j] != c { j += 1 }
                guard j < chars.count else { throw ExpressionProblem(position: start, message: "unterminated string") }
                out.append(Lexed(token: .string(String(chars[(i + 1)..<j])), position: start, text: String(chars[i...j])))
                advance(j - i + 1)
                continue
            }
            let two = i + 1 < chars.count ? String(chars[i...(i + 1)]) : ""
            if ["==", "!=", "<=", ">="].contains(two) {
                out.append(Lexed(token: .op(two), position: start, text: two))
                advance(2)
                continue
            }
            switch c {
            case "<", ">", "+", "-", "*", "/": out.append(Lexed(token: .op(String(c)), position: start, text: String(c)))
            case "(": out.append(Lexed(token: .lparen, position: start, text: "("))
            case ")": out.append(Lexed(token: .rparen, position: start, text: ")"))
            case ",": out.append(Lexed(token: .comma, position: start, text: ","))
            case "=": throw ExpressionProblem(position: start, message: "'=' is not an operator; compare with '=='")
            case "&", "|": throw ExpressionProblem(position: start, message: "'\(c)' is not an operator; use 'and' / 'or'")
            default: throw ExpressionProblem(position: start, message: "unexpected character '\(c)'")
            }
            advance()
        }
        out.append(Lexed(token: .end, position: pos, text: "end of expression"))
        return out
    }

    // MARK: Parsing

    private var current: Lexed { tokens[index] }

    private mutating func or() throws(ExpressionProblem) -> (Expression, ValueType) {
        var left = try and()
        while case .ident("or") = current.token {
            let at = current.position
            index += 1
            let right = try and()
            try expect(left.1, .bool, at: at, "'or' joins conditions")
            try expect(right.1, .bool, at: at, "'or' joins conditions")
            left = (.binary(.or, left.0, right.0), .bool)
        }
        return left
    }

    private mutating func and() throws(ExpressionProblem) -> (Expression, ValueType) {
        var left = try not()
        while case .ident("and") = current.token {
            let at = current.position
            index += 1
            let right = try not()
            try expect(left.1, .bool, at: at, "'and' joins conditions")
            try expect(right.1, .bool, at: at, "'and' joins conditions")
            left = (.binary(.and, left.0, right.0), .bool)
        }
        return left
    }

    private mutating func not() throws(ExpressionProblem) -> (Expression, ValueType) {
        if case .ident("not") = current.token {
            let at = current.position
            index += 1
            let operand = try not()
            try expect(operand.1, .bool, at: at, "'not' negates a condition")
            return (.not(operand.0), .bool)
        }
        return try comparison()
    }

    private mutating func comparison() throws(ExpressionProblem) -> (Expression, ValueType) {
        let left = try additive()
        guard case .op(let op) = current.token, let bop = Expression.BinaryOperator(rawValue: op),
              [.eq, .ne, .lt, .le, .gt, .ge].contains(bop) else { return left }
        let at = current.position
        index += 1
        let right = try additive()
        guard left.1 == right.1 else {
            throw ExpressionProblem(position: at, message: "cannot compare \(left.1) with \(right.1)")
        }
        if [.lt, .le, .gt, .ge].contains(bop), left.1 == .bool || left.1 == .string {
            throw ExpressionProblem(position: at, message: "'\(op)' orders numbers, times and durations, not \(left.1)s")
        }
        if case .op(let next) = current.token, ["==", "!=", "<", "<=", ">", ">="].contains(next) {
            throw ExpressionProblem(position: current.position, message: "comparisons do not chain; join them with 'and'")
        }
        return (.binary(bop, left.0, right.0), .bool)
    }

    private mutating func additive() throws(ExpressionProblem) -> (Expression, ValueType) {
        var left = try multiplicative()
        while case .op(let op) = current.token, op == "+" || op == "-" {
            let at = current.position
            index += 1
            let right = try multiplicative()
            let type: ValueType
            switch (left.1, right.1, op) {
            case (.number, .number, _): type = .number
            case (.duration, .duration, _): type = .duration
            case (.time, .duration, _): type = .time
            case (.duration, .time, "+"): type = .time
            case (.time, .time, "-"): type = .duration
            default: throw ExpressionProblem(position: at, message: "'\(op)' cannot combine \(left.1) and \(right.1)")
            }
            left = (.binary(op == "+" ? .add : .sub, left.0, right.0), type)
        }
        return left
    }

    private mutating func multiplicative() throws(ExpressionProblem) -> (Expression, ValueType) {
        var left = try unary()
        while case .op(let op) = current.token, op == "*" || op == "/" {
            let at = current.position
            index += 1
            let right = try unary()
            guard left.1 == .number, right.1 == .number else {
                throw ExpressionProblem(position: at, message: "'\(op)' takes numbers, not \(left.1) and \(right.1)")
            }
            left = (.binary(op == "*" ? .mul : .div, left.0, right.0), .number)
        }
        return left
    }

    private mutating func unary() throws(ExpressionProblem) -> (Expression, ValueType) {
        if case .op("-") = current.token {
            let at = current.position
            index += 1
            let operand = try unary()
            guard operand.1 == .number || operand.1 == .duration else {
                throw ExpressionProblem(position: at, message: "'-' negates a number or a duration, not a \(operand.1)")
            }
            return (.negate(operand.0), operand.1)
        }
        return try primary()
    }

    private mutating func primary() throws(ExpressionProblem) -> (Expression, ValueType) {
        let t = current
        switch t.token {
        case .number(let v): index += 1; return (.number(v), .number)
        case .string(let s): index += 1; return (.string(s), .string)
        case .duration(let d): index += 1; return (.duration(d), .duration)
        case .lparen:
            index += 1
            let inner = try or()
            guard case .rparen = current.token else { throw ExpressionProblem(position: current.position, message: "expected ')' but found '\(current.text)'") }
            index += 1
            return inner
        case .ident(let word):
            index += 1
            switch word {
            case "true": return (.bool(true), .bool)
            case "false": return (.bool(false), .bool)
            case "now": return (.now, .time)
            case "and", "or", "not": throw ExpressionProblem(position: t.position, message: "expected a value before '\(word)'")
            default: break
            }
            if case .lparen = current.token { return try call(word, at: t.position) }
            guard let type = Self.metricType(word, scope: scope) else {
                let known = Self.names(for: scope)
                if MetricCatalog.spec(word) != nil {
                    throw ExpressionProblem(position: t.position, message: "metric '\(word)' does not exist for scope \(scope)")
                }
                throw ExpressionProblem(position: t.position, message: "unknown metric '\(word)'\(Self.suggestion(word, known))")
            }
            return (.metric(word, type, slot: MetricCatalog.slot(word)!), type)
        case .end:
            throw ExpressionProblem(position: t.position, message: "unexpected end of expression; expected a value")
        default:
            throw ExpressionProblem(position: t.position, message: "unexpected '\(t.text)'; expected a value")
        }
    }

    private mutating func call(_ name: String, at position: SourcePosition) throws(ExpressionProblem) -> (Expression, ValueType) {
        guard let fn = Expression.Function(rawValue: name) else {
            throw ExpressionProblem(position: position, message: "unknown function '\(name)'\(Self.suggestion(name, Expression.Function.allCases.map(\.rawValue)))")
        }
        index += 1  // (
        var args: [(Expression, ValueType)] = []
        if case .rparen = current.token {} else {
            while true {
                args.append(try or())
                if case .comma = current.token { index += 1; continue }
                break
            }
        }
        guard case .rparen = current.token else { throw ExpressionProblem(position: current.position, message: "expected ',' or ')' in the call of \(name)") }
        index += 1
        let types = args.map(\.1)
        switch fn {
        case .daysSince:
            guard types == [.time] else { throw ExpressionProblem(position: position, message: "days_since takes one time (days_since(portal.last_update)), got (\(types.map(\.description).joined(separator: ", ")))") }
            return (.call(fn, args.map(\.0)), .number)
        case .min, .max:
            guard types.count >= 2, Set(types).count == 1, [.number, .duration, .time].contains(types[0]) else {
                throw ExpressionProblem(position: position, message: "\(name) takes two or more numbers, durations or times of one type")
            }
            return (.call(fn, args.map(\.0)), types[0])
        case .ratio:
            guard types == [.number, .number] else { throw ExpressionProblem(position: position, message: "ratio takes two numbers (ratio(a, b) is a ÷ b, none when b is 0)") }
            return (.call(fn, args.map(\.0)), .number)
        case .date:
            guard args.count == 1, case .string(let text) = args[0].0, let day = CalendarDate(iso: text) else {
                throw ExpressionProblem(position: position, message: "date takes one date string, date(\"2021-12-31\")")
            }
            return (.time(day.tashkentStart.micros), .time)
        }
    }

    private func expect(_ type: ValueType, _ wanted: ValueType, at position: SourcePosition, _ what: String) throws(ExpressionProblem) {
        guard type == wanted else { throw ExpressionProblem(position: position, message: "\(what); got a \(type) where a \(wanted) was expected") }
    }

    static func suggestion(_ word: String, _ candidates: [String]) -> String {
        NearMiss.suggestion(word, among: candidates, quote: "'")
    }
}
