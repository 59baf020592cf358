/// The bundled reference data: 14 regions, 208 districts and cities, 94 state bodies, with
/// their SOATO codes and names (provenance: `data/SOURCES.md`).
public struct ReferenceData: Sendable {
    public struct Region: Sendable, Equatable {
        public var code, slug, nameEn, nameUz, nameRu: String
        public var key: EntityKey { EntityKey(uncheckedKind: .region, code: code) }
    }

    public struct District: Sendable, Equatable {
        public var code, regionCode, slug, nameEn, nameUz, nameRu: String
        /// "district" or "city" (a city of regional subordination).
        public var kind: String
        public var key: EntityKey { EntityKey(uncheckedKind: .district, code: code) }
        public var regionKey: EntityKey { EntityKey(uncheckedKind: .region, code: regionCode) }
    }

    public struct Organization: Sendable, Equatable {
        public var slug, nameEn, nameUz, nameRu: String
        /// ministry, committee, agency or other.
        public var category: String
        public var key: EntityKey { EntityKey(uncheckedKind: .org, code: slug) }
    }

    public var regions: [Region]
    public var districts: [District]
    public var organizations: [Organization]

    /// The data compiled into this binary.
    public static let bundled: ReferenceData = {
        let regions = CSV.rows(regionsCSV).map { Region(code: $0[0], slug: $0[1], nameEn: $0[2], nameUz: $0[3], nameRu: $0[4]) }
        let districts = CSV.rows(districtsCSV).map {
            District(code: $0[0], regionCode: $0[1], slug: $0[2], nameEn: $0[3], nameUz: $0[4], nameRu: $0[5], kind: $0[6])
        }
        let orgs = CSV.rows(organizationsCSV).map { Organization(slug: $0[0], nameEn: $0[1], nameUz: $0[2], nameRu: $0[3], category: $0[4]) }
        return ReferenceData(regions: regions, districts: districts, organizations: orgs)
    }()

    /// The date the reference entities are registered on unless `init --effective` says
    /// otherwise: before the programme, so answers as of any day of it include them.
    public static let defaultEffective = Timestamp(rfc3339: "2020-01-01T00:00:00+05:00")!

    /// The source recorded on registration events.
    public static let source = "raqam-reference-data"

    /// One `entity.registered` event per region, district, city and organization, regions
    /// first. Each id is derived from the entity key, so registering twice stores nothing new.
    public func registrationEvents(effective: Timestamp = ReferenceData.defaultEffective) -> [Event] {
        func event(_ key: EntityKey, _ kind: String, _ name: String, parent: String?, uz: String, ru: String) -> Event {
            Event(id: EventID(derivedFrom: "raqam:entity.registered:\(key)"), type: .entityRegistered, subject: key,
                  occurredAt: effective, source: Self.source,
                  data: EventData(values: [.string(kind), .string(name), parent.map { .string($0) },
                                           uz.isEmpty ? nil : .string(uz), ru.isEmpty ? nil : .string(ru)]))
        }
        return regions.map { event($0.key, "region", $0.nameEn, parent: nil, uz: $0.nameUz, ru: $0.nameRu) }
            + districts.map { event($0.key, $0.kind, $0.nameEn, parent: $0.regionKey.description, uz: $0.nameUz, ru: $0.nameRu) }
            + organizations.map { event($0.key, "org", $0.nameEn, parent: nil, uz: $0.nameUz, ru: $0.nameRu) }
    }
}

/// RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks.
enum CSV {
    /// The data rows (the header row dropped).
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var quoted = false, afterQuote = false
        for ch in text {
            if quoted {
                if ch == "\"" { quoted = false; afterQuote = true } else { field.append(ch) }
                continue
            }
            switch ch {
            case "\"":
                if afterQuote { field.append("\"") }
                quoted = true
                afterQuote = false
            case ",":
                row.append(field); field = ""; afterQuote = false
            case "\n", "\r\n":
                row.append(field); field = ""; afterQuote = false
                rows.append(row); row = []
            default:
                field.append(ch); afterQuote = false
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return Array(rows.dropFirst())
    }
}

extension ReferenceData {
    /// Each bundled entity's Uzbek and Russian names (the nation's too), by key: what the web
    /// view and `raqamctl --lang` print instead of the registered (English) name.
    public static let localNames: [EntityKey: (uz: String, ru: String)] = {
        let r = ReferenceData.bundled
        var out: [EntityKey: (uz: String, ru: String)] = [.nation: ("Oʻzbekiston Respublikasi", "Республика Узбекистан")]
        for x in r.regions { out[x.key] = (x.nameUz, x.nameRu) }
        for x in r.districts { out[x.key] = (x.nameUz, x.nameRu) }
        for x in r.organizations { out[x.key] = (x.nameUz, x.nameRu) }
        return out
    }()

    /// `key`'s bundled name in Uzbek (`russian` false) or Russian, or nil when there is none.
    public static func localName(of key: EntityKey, russian: Bool) -> String? {
        guard let names = localNames[key] else { return nil }
        let n = russian ? names.ru : names.uz
        return n.isEmpty ? nil : n
    }
}
