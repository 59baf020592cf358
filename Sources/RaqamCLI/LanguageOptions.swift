import ArgumentParser
import Foundation
import RaqamModel

/// The language entity names are printed in: the reference data has each region, district,
/// city and state body in English, Uzbek and Russian.
enum NameLanguage: String, ExpressibleByArgument, CaseIterable, Sendable {
    case en, uz, ru

    /// `key`'s name in this language (`ReferenceData.localName`); `fallback` (the registered
    /// name) in English, or for an entity the reference data does not name.
    func name(of key: EntityKey, fallback: String) -> String {
        self == .en ? fallback : ReferenceData.localName(of: key, russian: self == .ru) ?? fallback
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
