public import RaqamModel

/// Finds an entity from what a person types: a key (`district:1703202`), a slug of the
/// reference data (`andijan`, `andijan-district`, `ministry-justice`), or a name in English,
/// Uzbek or Russian (`"Andijan District"`, `"Andijon tumani"`, `"Андижанский район"`, any
/// case; Uzbek's ʻ may be typed as ' or `), registered in the log or in the reference data.
public struct SubjectResolver: Sendable {
    /// Why a text names no single entity.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private var slugs: [String: EntityKey] = [:]
    /// Every name an entity is known by, folded (`fold`), with the name to show.
    private var names: [(key: EntityKey, folded: String, name: String)] = []

    public init(state: ProjectionState, reference: ReferenceData = .bundled) {
        self.init(registered: state.registeredNames, reference: reference)
    }

    /// Without a folded log: the reference data's names, and `registered` ones.
    public init(registered: [(key: EntityKey, name: String)] = [], reference: ReferenceData = .bundled) {
        for r in reference.regions { slugs[r.slug] = r.key }
        for d in reference.districts { slugs[d.slug] = d.key }
        for o in reference.organizations { slugs[o.slug] = o.key }
        var seen: Set<String> = []
        func add(_ key: EntityKey, _ name: String) {
            let folded = Self.fold(name)
            guard !name.isEmpty, seen.insert(key.description + "\u{0}" + folded).inserted else { return }
            names.append((key, folded, name))
        }
        for (key, name) in registered { add(key, name) }
        for r in reference.regions { [r.nameEn, r.nameUz, r.nameRu].forEach { add(r.key, $0) } }
        for d in reference.districts { [d.nameEn, d.nameUz, d.nameRu].forEach { add(d.key, $0) } }
        for o in reference.organizations { [o.nameEn, o.nameUz, o.nameRu].forEach { add(o.key, $0) } }
    }

    /// Lower case, with the Uzbek letters' modifier (ʻ, ʼ) and the quotes people type for it
    /// made one.
    static func fold(_ text: String) -> String {
        String(text.lowercased().map { "ʻʼ‘’`".contains($0) ? "'" : $0 })
    }

    public func resolve(_ text: String) throws(Problem) -> EntityKey {
        if let key = try? EntityKey(parsing: text) { return key }
        let wanted = Self.fold(text)
        if let key = slugs[wanted] { return key }
        func distinct(_ found: [(key: EntityKey, folded: String, name: String)]) -> [(key: EntityKey, name: String)] {
            var keys: Set<EntityKey> = []
            return found.filter { keys.insert($0.key).inserted }.map { ($0.key, $0.name) }
        }
        let exact = distinct(names.filter { $0.folded == wanted })
        if exact.count == 1 { return exact[0].key }
        let candidates = exact.isEmpty ? distinct(names.filter { $0.folded.contains(wanted) }) : exact
        switch candidates.count {
        case 1: return candidates[0].key
        case 0: throw Problem(description: "no entity is called \"\(text)\"; give a key (district:1703202), a slug (andijan-district) or a name (in English, Uzbek or Russian)")
        default:
            let list = candidates.sorted { $0.key < $1.key }.prefix(12).map { "  \($0.key)  \($0.name)" }.joined(separator: "\n")
            throw Problem(description: "\"\(text)\" matches \(candidates.count) entities; name one of them by key:\n\(list)")
        }
    }
}
