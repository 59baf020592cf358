public import RaqamModel

/// Finds an entity from what a person types: a key (`district:1703202`), a slug of the
/// reference data (`andijan`, `andijan-district`, `ministry-justice`), or a registered name
/// (`"Andijan District"`, any case).
public struct SubjectResolver: Sendable {
    /// Why a text names no single entity.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private var slugs: [String: EntityKey] = [:]
    private var names: [(key: EntityKey, name: String)]

    public init(state: ProjectionState, reference: ReferenceData = .bundled) {
        for r in reference.regions { slugs[r.slug] = r.key }
        for d in reference.districts { slugs[d.slug] = d.key }
        for o in reference.organizations { slugs[o.slug] = o.key }
        names = state.registeredNames
    }

    public func resolve(_ text: String) throws(Problem) -> EntityKey {
        if let key = try? EntityKey(parsing: text) { return key }
        let wanted = text.lowercased()
        if let key = slugs[wanted] { return key }
        let exact = names.filter { $0.name.lowercased() == wanted }
        if exact.count == 1 { return exact[0].key }
        let candidates = exact.isEmpty ? names.filter { $0.name.lowercased().contains(wanted) } : exact
        switch candidates.count {
        case 1: return candidates[0].key
        case 0: throw Problem(description: "no entity is called \"\(text)\"; give a key (district:1703202), a slug (andijan-district) or a registered name")
        default:
            let list = candidates.sorted { $0.key < $1.key }.prefix(12).map { "  \($0.key)  \($0.name)" }.joined(separator: "\n")
            throw Problem(description: "\"\(text)\" matches \(candidates.count) entities; name one of them by key:\n\(list)")
        }
    }
}
