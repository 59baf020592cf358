import Projections

/// An expression flattened into postfix instructions over plain values, for evaluation
/// without recursion, boxes or reference counting: a full pass runs every rule for every
/// entity, so this is the inner loop of raqamd (`raqam-bench rules`).
///
/// Evaluates exactly as the tree (`CompiledExpression.evaluateTree`), which the tests check.
struct ExpressionProgram: Sendable {
    /// A value on the stack: a tag and its payload. Strings occur only as constants and are
    /// compared by their position in `strings`.
    struct Value {
        enum Tag: UInt8 { case none, number, bool, time, duration, string }
        var tag: Tag
        var number: Double = 0
        var integer: Int64 = 0

        static let none = Value(tag: .none)
        static func number(_ v: Double) -> Value { Value(tag: .number, number: v) }
        static func bool(_ b: Bool) -> Value { Value(tag: .bool, integer: b ? 1 : 0) }
        static func time(_ t: Int64) -> Value { Value(tag: .time, integer: t) }
        static func duration(_ d: Int64) -> Value { Value(tag: .duration, integer: d) }
    }

    enum Instruction {
        case constant(Value)
        case metric(slot: Int)
        case now
        case not
        case negate
        case binary(Expression.BinaryOperator)
        case daysSince
        case ratio
        case min(Int)
        case max(Int)
    }

    let instructions: [Instruction]
    let strings: [String]
    let depth: Int

    init(_ e: Expression) {
        var code: [Instruction] = []
        var strings: [String] = []
        var depth = 0, maxDepth = 0
        func push() { depth += 1; maxDepth = Swift.max(maxDepth, depth) }
        func emit(_ e: Expression) {
            switch e {
            case .number(let v): code.append(.constant(.number(v))); push()
            case .bool(let b): code.append(.constant(.bool(b))); push()
            case .duration(let d): code.append(.constant(.duration(d))); push()
            case .time(let t): code.append(.constant(.time(t))); push()
            case .string(let s):
                let id = strings.firstIndex(of: s) ?? { strings.append(s); return strings.count - 1 }()
                code.append(.constant(Value(tag: .string, integer: Int64(id)))); push()
            case .now: code.append(.now); push()
            case .metric(_, _, let slot): code.append(.metric(slot: slot)); push()
            case .not(let x): emit(x); code.append(.not)
            case .negate(let x): emit(x); code.append(.negate)
            case .binary(let op, let a, let b): emit(a); emit(b); code.append(.binary(op)); depth -= 1
            case .call(let fn, let args):
                for a in args { emit(a) }
                switch fn {
                case .daysSince: code.append(.daysSince)
                case .ratio: code.append(.ratio); depth -= 1
                case .min: code.append(.min(args.count)); depth -= args.count - 1
                case .max: code.append(.max(args.count)); depth -= args.count - 1
                case .date: code.append(.constant(.none))  // folded into a time by the parser
                }
            }
        }
        emit(e)
        instructions = code
        self.strings = strings
        self.depth = maxDepth
    }

    /// Runs the program for one entity at `now` (µs).
    func run(_ m: EntityMetrics, now: Int64) -> Value {
        instructions.withUnsafeBufferPointer { code in
            withUnsafeTemporaryAllocation(of: Value.self, capacity: Swift.max(depth, 1)) { stack in
                Self.run(code, code.indices, stack: stack, m, now: now)
            }
        }
    }

    /// Runs `code[range]` with `stack` (at least `depth` values): the loop of a full pass,
    /// over instructions and a stack that no reference counting touches.
    static func run(_ code: UnsafeBufferPointer<Instruction>, _ range: Range<Int>, stack: UnsafeMutableBufferPointer<Value>,
                    _ m: EntityMetrics, now: Int64) -> Value {
            var top = -1
            for pc in range {
                let instruction = code[pc]
                switch instruction {
                case .constant(let v):
                    top += 1; stack[top] = v
                case .metric(let slot):
                    top += 1
                    switch m.slots[slot] {
                    case .number(let v): stack[top] = .number(v)
                    case .flag(let b): stack[top] = .bool(b)
                    case .time(let t): stack[top] = .time(t.micros)
                    case .none: stack[top] = .none
                    }
                case .now:
                    top += 1; stack[top] = .time(now)
                case .not:
                    stack[top] = stack[top].tag == .bool ? .bool(stack[top].integer == 0) : .none
                case .negate:
                    let x = stack[top]
                    stack[top] = x.tag == .number ? .number(-x.number) : x.tag == .duration ? .duration(-x.integer) : .none
                case .binary(let op):
                    let y = stack[top], x = stack[top - 1]
                    top -= 1
                    stack[top] = Self.binary(op, x, y)
                case .daysSince:
                    let t = stack[top]
                    stack[top] = t.tag == .time ? .number(Double(now - t.integer) / 86_400_000_000) : .none
                case .ratio:
                    let b = stack[top], a = stack[top - 1]
                    top -= 1
                    stack[top] = a.tag == .number && b.tag == .number && b.number != 0 ? .number(a.number / b.number) : .none
                case .min(let n), .max(let n):
                    var best = stack[top - n + 1]
                    var missing = best.tag == .none
                    var isMin = false
                    if case .min = instruction { isMin = true }
                    for k in (top - n + 2)...top where k <= top {
                        let v = stack[k]
                        if v.tag == .none { missing = true; continue }
                        let less = Self.binary(.lt, v, best)
                        if less.tag == .bool && (less.integer == 1) == isMin { best = v }
                    }
                    top -= n - 1
                    stack[top] = missing ? .none : best
                }
            }
            return stack[top]
    }

    static func binary(_ op: Expression.BinaryOperator, _ x: Value, _ y: Value) -> Value {
        if op == .and {
            if (x.tag == .bool && x.integer == 0) || (y.tag == .bool && y.integer == 0) { return .bool(false) }
            return x.tag == .bool && y.tag == .bool ? .bool(true) : .none
        }
        if op == .or {
            if (x.tag == .bool && x.integer == 1) || (y.tag == .bool && y.integer == 1) { return .bool(true) }
            return x.tag == .bool && y.tag == .bool ? .bool(false) : .none
        }
        if x.tag == .none || y.tag == .none { return .none }
        func order(_ a: Double, _ b: Double) -> Value {
            switch op {
            case .eq: .bool(a == b)
            case .ne: .bool(a != b)
            case .lt: .bool(a < b)
            case .le: .bool(a <= b)
            case .gt: .bool(a > b)
            case .ge: .bool(a >= b)
            default: .none
            }
        }
        switch (x.tag, y.tag) {
        case (.number, .number):
            switch op {
            case .add: return .number(x.number + y.number)
            case .sub: return .number(x.number - y.number)
            case .mul: return .number(x.number * y.number)
            case .div: return y.number == 0 ? .none : .number(x.number / y.number)
            default: return order(x.number, y.number)
            }
        case (.duration, .duration):
            switch op {
            case .add: return checked(x.integer.addingReportingOverflow(y.integer)).map(Value.duration) ?? .none
            case .sub: return checked(x.integer.subtractingReportingOverflow(y.integer)).map(Value.duration) ?? .none
            default: return order(Double(x.integer), Double(y.integer))
            }
        case (.time, .time):
            return op == .sub ? checked(x.integer.subtractingReportingOverflow(y.integer)).map(Value.duration) ?? .none : order(Double(x.integer), Double(y.integer))
        case (.time, .duration):
            let r = op == .add ? x.integer.addingReportingOverflow(y.integer) : op == .sub ? x.integer.subtractingReportingOverflow(y.integer) : nil
            return r.flatMap(checked).map(Value.time) ?? .none
        case (.duration, .time):
            return op == .add ? checked(x.integer.addingReportingOverflow(y.integer)).map(Value.time) ?? .none : .none
        case (.string, .string), (.bool, .bool):
            return op == .eq ? .bool(x.integer == y.integer) : op == .ne ? .bool(x.integer != y.integer) : .none
        default:
            return .none
        }
    }

    /// The result of Int64 arithmetic, or nil when it overflowed (no data, as for ÷ 0).
    static func checked(_ r: (partialValue: Int64, overflow: Bool)) -> Int64? { r.overflow ? nil : r.partialValue }

    /// A stack value as an `ExpressionValue` (nil for no data).
    func value(_ v: Value) -> ExpressionValue? {
        switch v.tag {
        case .none: nil
        case .number: .number(v.number)
        case .bool: .bool(v.integer == 1)
        case .time: .time(v.integer)
        case .duration: .duration(v.integer)
        case .string: .string(strings[Int(v.integer)])
        }
    }
}
