/// The subject of an event: `nation`, `region:<SOATO 4 digits>`, `district:<SOATO code>`
/// (a district or a city of regional status) or `org:<slug>`.
public struct EntityKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The level an entity sits at; the order is nation, region, district, org.
    public enum Kind: UInt8, Sendable, CaseIterable, Comparable, CustomStringConvertible {
        case nation = 0, region = 1, district = 2, org = 3

        public var description: String {
            switch self {
            case .nation: "nation"
            case .region: "region"
            case .district: "district"
            case .org: "org"
            }
        }

        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }

    public let kind: Kind
    /// The SOATO code (region, district) or the slug (org); empty for the nation.
    public let code: String

    public static let nation = EntityKey(uncheckedKind: .nation, code: "")

    /// A key read back from a snapshot the program wrote itself (not validated again).
    public init(snapshotKind kind: Kind, code: String) {
        self.init(uncheckedKind: kind, code: code)
    }

    init(uncheckedKind kind: Kind, code: String) {
        self.kind = kind
        self.code = code
    }

    /// Parses `region:1703`, `district:1703202`, `org:ministry-digital-technologies`, `nation`.
    /// - Throws: `KeyProblem` saying what form was expected.
    public init(parsing text: some StringProtocol) throws(KeyProblem) {
        // On the UTF-8 bytes: keys are ASCII, and Character-wise search costs grapheme breaking.
        let utf8 = text.utf8
        if utf8.elementsEqual("nation".utf8) {
            self = .nation
            return
        }
        guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")) else {
            throw KeyProblem("expected nation, region:<4-digit SOATO>, district:<SOATO code> or org:<slug>, got \"\(text)\"")
        }
        let prefix = utf8[..<colon], codeBytes = utf8[utf8.index(after: colon)...]
        func digits() -> Bool { codeBytes.allSatisfy { $0 >= 48 && $0 <= 57 } }
        let code = String(decoding: codeBytes, as: UTF8.self)
        if prefix.elementsEqual("region".utf8) {
            guard codeBytes.count == 4, digits() else {
                throw KeyProblem("a region key has 4 SOATO digits (region:1703), got \"\(text)\"")
            }
            self.init(uncheckedKind: .region, code: code)
        } else if prefix.elementsEqual("district".utf8) {
            guard [7, 10].contains(codeBytes.count), digits() else {
                throw KeyProblem("a district key has a 7- or 10-digit SOATO code (district:1703202), got \"\(text)\"")
            }
            self.init(uncheckedKind: .district, code: code)
        } else if prefix.elementsEqual("org".utf8) {
            let ok = !codeBytes.isEmpty && codeBytes.count <= 100 && codeBytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
            guard ok else { throw KeyProblem("an org key is org:<slug> in lower-case ASCII letters, digits and hyphens, got \"\(text)\"") }
            self.init(uncheckedKind: .org, code: code)
        } else {
            throw KeyProblem("unknown subject kind \"\(String(decoding: prefix, as: UTF8.self))\"; expected nation, region, district or org")
        }
    }

    /// For districts: the key of the region they lie in (the first 4 SOATO digits).
    public var regionKey: EntityKey? {
        switch kind {
        case .region: self
        case .district: EntityKey(uncheckedKind: .region, code: String(code.prefix(4)))
        case .nation, .org: nil
        }
    }

    public var description: String { kind == .nation ? "nation" : "\(kind):\(code)" }

    public static func < (a: EntityKey, b: EntityKey) -> Bool {
        (a.kind, a.code) < (b.kind, b.code)
    }

    /// Why a text is not an entity key.
    public struct KeyProblem: Error, Sendable {
        public var message: String
        init(_ message: String) { self.message = message }
    }
}
