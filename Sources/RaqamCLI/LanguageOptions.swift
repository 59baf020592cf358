import ArgumentParser
import Foundation
import RaqamModel

/// The language entity names are printed in: the reference data has each region, district,
/// city and state body in English, Uzbek and Russian.
enum NameLanguage: String, ExpressibleByArgument, CaseIterable, Sendable {
    case en, uz, ru

    /// Uzbek and Russian names by key (English is the registered name).
    static let names: [EntityKey: (uz: String, ru: String)] = {
        let r = ReferenceData.bundled
        var out: [EntityKey: (uz: String, ru: String)] = [.nation: ("Oʻzbekiston Respublikasi", "Республика Узбекистан")]
        for x in r.regions { out[x.key] = (x.nameUz, x.nameRu) }
        for x in r.districts { out[x.key] = (x.nameUz, x.nameRu) }
        for x in r.organizations { out[x.key] = (x.nameUz, x.nameRu) }
        return out
    }()

    /// `key`'s name in this language; `fallback` (the registered name) in English, or for an
    /// entity the reference data does not name.
    func name(of key: EntityKey, fallback: String) -> String {
        guard self != .en, let names = Self.names[key] else { return fallback }
        let n = self == .uz ? names.uz : names.ru
        return n.isEmpty ? fallback : n
    }
}

/// `--lang en|uz|ru` (default `$RAQAM_LANG`, else en).
struct LanguageOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The language of entity names in the output: en, uz or ru (default: $RAQAM_LANG, else en). Rule summaries stay as their rule files word them.", valueName: "lang"))
    var lang: NameLanguage?

    var language: NameLanguage {
        lang ?? ProcessInfo.processInfo.environment["RAQAM_LANG"].flatMap(NameLanguage.init(rawValue:)) ?? .en
    }

    func name(of key: EntityKey, fallback: String) -> String { language.name(of: key, fallback: fallback) }
}
